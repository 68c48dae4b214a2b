"""Issuing the documents of a validation in two short transactions around the rendering.

``reserve`` fixes each document's number and verify token (once: a re-run finds them)
and keeps the validation's data, ``complete`` makes them visible, supersedes the previous
version and writes ``documents.generated``. The slow rendering happens between the two,
outside any transaction; the natural key (cooperative, year, kind, version) keeps one row
per document whatever the number of runs. An issue given up in between is marked on its
rows (``fail``) until a later delivery or a re-issue completes it.
"""
import json
import secrets
from datetime import datetime, timezone

from sqlalchemy import exists, select
from sqlalchemy.orm import Session, aliased

from contracts import adhesion as adhesion_events
from services.documents import domain, events
from services.documents.models import Document, DocumentSequence
from shared.counters import locked_counter


def reserve(session: Session, data: dict) -> list[Document] | None:
    """The documents of this validation, reserved now or by an earlier run; None when a
    newer version of the cooperative's documents already exists (this one is stale)."""
    department, year, version = data["department"]["code"], data["year"], data["version"]
    sequence = locked_counter(session, DocumentSequence, department=department, year=year)  # reservations queue here
    rows = _documents_of(session, data["cooperative"]["number"], year)
    if any(row.version > version for row in rows):
        return None
    mine = {row.kind: row for row in rows if row.version == version}
    wanted = domain.kinds_for(data["insurance"])
    source = _source(data)
    for row in mine.values():  # a row still without its data, not drawn yet, is given it
        if row.source is None and row.generated_at is None:
            row.source = source
    missing = [kind for kind in wanted if kind not in mine]
    if missing:
        if mine:
            serial = domain.serial_of(next(iter(mine.values())).number)
        else:
            sequence.last_number += 1
            serial = sequence.last_number
        now = datetime.now(timezone.utc)
        for kind in missing:
            mine[kind] = Document(
                kind=kind,
                number=domain.document_number(kind, year, department, serial),
                cooperative=data["cooperative"]["number"],
                cooperative_name=data["cooperative"]["name"],
                department=department,
                year=year,
                version=version,
                registration_code=data["registration_code"],
                verify_token=secrets.token_urlsafe(24),
                storage_key=domain.storage_key(data["cooperative"]["number"], year, kind, version),
                reserved_at=now,
                source=source,
            )
            session.add(mine[kind])
        session.flush()
    return [mine[kind] for kind in wanted]


def complete(session: Session, data: dict, pdfs: dict[str, bytes], keys: dict[str, str]) -> bool:
    """Publish the rendered documents, kept under ``keys``; True when ``documents.generated``
    was written. The rows are locked: of two attempts at once, the second finds the
    documents generated and leaves them (and their files) as the first recorded them."""
    number, year, version = data["cooperative"]["number"], data["year"], data["version"]
    rows = _documents_of(session, number, year, lock=True)
    mine = [row for row in rows if row.version == version and row.kind in pdfs]
    if not mine or all(row.generated_at is not None for row in mine):
        return False  # done already, under another event id
    now = datetime.now(timezone.utc)
    for row in mine:
        row.generated_at = now
        row.storage_key = keys[row.kind]
        row.source = _source(data)
        row.failed_at = row.failure = None
    if any(row.version > version and row.generated_at is not None for row in rows):
        for row in mine:  # a newer version got there first: this one is history
            row.superseded_at = row.superseded_at or now
        return False
    for row in rows:
        if row.version < version and row.superseded_at is None:
            row.superseded_at = now
    events.generated(session, data, mine, pdfs)
    return True


def reissue(session: Session, rows: list[Document], pdfs: dict[str, bytes], keys: dict[str, str]) -> bool:
    """Record the new files of documents already generated and write ``documents.generated``
    again (a new event: notify sends a confirmation that failed). False when the documents
    changed meanwhile (superseded, or another re-issue won)."""
    current = {row.id: row for row in _documents_of(session, rows[0].cooperative, rows[0].year, lock=True)}
    fresh = [current.get(row.id) for row in rows]
    if any(row is None or row.superseded_at is not None or row.storage_key != old.storage_key
           for row, old in zip(fresh, rows)):
        return False
    for row in fresh:
        row.storage_key = keys[row.kind]
    events.generated(session, adhesion_events.VALIDATED.typed(json.loads(fresh[0].source)), fresh, pdfs)
    return True


def fail(session: Session, data: dict, reason: str) -> list[Document]:
    """Mark the reserved, never drawn documents of this validation failed with ``reason``
    (``failed_at`` keeps the first time it was given up); the rows marked."""
    rows = _documents_of(session, data["cooperative"]["number"], data["year"], lock=True)
    mine = [row for row in rows if row.version == data["version"] and row.generated_at is None]
    now = datetime.now(timezone.utc)
    for row in mine:
        row.failed_at = row.failed_at or now
        row.failure = reason
    return mine


def failed(session: Session, department: str | None = None, cooperative: str | None = None,
           year: str | None = None) -> list[Document]:
    """The documents given up, of the latest validation of their cooperative and year (a
    newer one reserved since is issued, or fails, on its own), oldest failure first;
    filtered by department, cooperative and year when given."""
    newer = aliased(Document)
    query = select(Document).where(
        Document.failed_at.is_not(None),
        Document.superseded_at.is_(None),
        ~exists().where(newer.cooperative == Document.cooperative, newer.year == Document.year,
                        newer.version > Document.version),
    )
    for column, value in ((Document.department, department), (Document.cooperative, cooperative),
                          (Document.year, year)):
        if value is not None:
            query = query.where(column == value)
    return list(session.scalars(query.order_by(Document.failed_at, Document.id)))


def _source(data: dict) -> str:
    return json.dumps(adhesion_events.VALIDATED.raw(data), ensure_ascii=False)


def _documents_of(session: Session, cooperative: str, year: str, lock: bool = False) -> list[Document]:
    query = select(Document).where(Document.cooperative == cooperative, Document.year == year).order_by(Document.id)
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query))

