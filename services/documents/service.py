"""The documents service's use cases: issue the documents of a validation, re-issue them,
read them (the list, a PDF, a PDF for another service, the public check).

Rendering is slow and happens outside any transaction, between ``issuing.reserve`` (the
numbers and tokens) and ``issuing.complete`` (the documents made visible and
``documents.generated`` written). Two deliveries of one validation may render at the
same moment (two pool processes, a redelivery beside its original): each keeps its
PDFs under names carrying their digest, the transaction that completes records the
names it wrote, and the attempt that lost removes its files unless they are the very
ones recorded (the rendering is invariant: same data, same bytes, same names).

A store that cannot be written or a rendering that raises is retried (the consumer's
backoff) until ``DOCUMENTS_GIVE_UP_SECONDS`` after the reservation, then the issue is
failed on its rows, for staff to see (``failures``) and draw again (``reissue``).
"""
import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from contracts import adhesion as adhesion_events
from services.documents import domain, figures, issuing
from services.documents.models import Document, ProcessedEvent
from services.documents.storage import Storage
from shared.auth import Principal, ensure_access, ensure_own_cooperative
from shared.consumer import consume_once
from shared.errors import Conflict, NotFound, Unavailable
from shared.events import Event
from shared.service import ServiceContext

log = logging.getLogger(__name__)

CONSUMER = "documents.on_adhesion_validated"  # the task's name: its processed events are kept under it

try:
    from zoneinfo import ZoneInfo

    FRANCE = ZoneInfo("Europe/Paris")
except Exception:  # no time zone database in the image: print the UTC day
    FRANCE = None


FILE_UNAVAILABLE = "Le fichier du document est momentanément indisponible."


def renderer(kind: str):
    """The PDF drawing of ``kind``. Imported here, not with the module: the web process
    serves the documents API without ever drawing one (xhtml2pdf and the fonts cost
    ~0.45 s of every start); the documents worker loads it before forking its pool."""
    from services.documents import rendering

    return {domain.ATTESTATION: rendering.render_attestation, domain.CERTIFICATE: rendering.render_certificate}[kind]


@dataclass(frozen=True)
class Planned:
    kind: str
    number: str
    token: str


def issue_validated(ctx: ServiceContext, storage: Storage, event: Event) -> bool:
    """Render, store and publish the documents of a validation, exactly once; True when
    this delivery was the one that issued them."""
    started = time.perf_counter()
    data = event.data
    if _already_processed(ctx, event.event_id):
        return False
    with ctx.database.session() as session:  # short: numbers and tokens only
        reserved = issuing.reserve(session, data) or []
        done = all(row.generated_at is not None for row in reserved)
        plan = [Planned(row.kind, row.number, row.verify_token) for row in reserved]
        reserved_at = min((row.reserved_at for row in reserved), default=None)
    if done:  # a newer version exists, or this one was printed under another event id
        return consume_once(ctx.database, ProcessedEvent, CONSUMER, event, lambda s, e: None)

    log.info("documents %s %s v%s: %s reserved, rendering", data["cooperative"]["number"], data["year"],
             data["version"], ", ".join(item.number for item in plan))
    rendering_started = time.perf_counter()
    try:
        pdfs = _render(ctx, data, plan)
        keys = _store(storage, data, pdfs)
    except (OSError, domain.RenderingFailed) as exc:
        if not domain.issue_gives_up(reserved_at, datetime.now(timezone.utc), ctx.settings.documents_give_up_seconds):
            raise  # retried by the consumer, with a WARNING line each time
        _give_up(ctx, data, exc)
        return False
    rendered_ms = (time.perf_counter() - rendering_started) * 1000

    published = []
    applied = consume_once(
        ctx.database, ProcessedEvent, CONSUMER, event,
        lambda session, _: published.append(issuing.complete(session, data, pdfs, keys)),
    )
    if not (applied and any(published)):
        _discard_unrecorded(ctx, storage, keys)
    if applied and any(published):
        ctx.publish()
    log.info(
        "documents %s %s v%s: %d PDF rendered and stored in %.0f ms, handled in %.0f ms%s",
        data["cooperative"]["number"], data["year"], data["version"], len(pdfs), rendered_ms,
        (time.perf_counter() - started) * 1000, "" if applied else " (already done)",
    )
    return applied


def reissue(ctx: ServiceContext, storage: Storage, principal: Principal, number: str, year: str) -> list[Document]:
    """Draw the current documents of a cooperative and year again (same numbers, tokens and
    day) and write ``documents.generated`` again, so a confirmation that failed is sent
    with them. Documents whose issue was given up (never drawn) are drawn from the data
    kept at their reservation and published as the consumer would have. Staff of the
    cooperative's department, or national (the route checks the role)."""
    with ctx.database.session() as session:
        # documents given up are of the latest validation: they go before those drawn of
        # an earlier version
        rows = sorted(issuing.failed(session, cooperative=number, year=year),
                      key=lambda row: domain.KINDS.index(row.kind))
        drawn = not rows
        if drawn:
            rows = _current_documents(session, number, year)
        if not rows:
            raise _none_issued(number, year)
        _ensure_staff_access(principal, number, rows[0].department)
        sources = {row.id: row.source for row in rows}
        session.expunge_all()
    if any(source is None for source in sources.values()):
        raise Conflict("Ces documents ont été émis avant que leurs données soient conservées : "
                       "revalidez l'adhésion pour en émettre une nouvelle version.")
    data = adhesion_events.VALIDATED.typed(json.loads(sources[rows[0].id]))
    try:
        pdfs = _render(ctx, data, [Planned(row.kind, row.number, row.verify_token) for row in rows])
        keys = _store(storage, data, pdfs)
    except (OSError, domain.RenderingFailed) as exc:
        log.error("documents %s %s v%s: re-issue by %s failed: %s", number, year, data["version"], principal.login,
                  domain.error_text(exc))
        raise Unavailable(_failure_of(exc)) from None
    with ctx.database.session() as session:
        written = issuing.reissue(session, rows, pdfs, keys) if drawn else issuing.complete(session, data, pdfs, keys)
        ctx.audit(session, "documents.reissued", number, {"year": year, "documents": [row.number for row in rows]}, department=rows[0].department)
        current = _current_documents(session, number, year)
        session.expunge_all()
    if not written:
        _discard_unrecorded(ctx, storage, keys)
        raise _none_issued(number, year)
    ctx.publish()
    log.warning("documents %s %s v%s %s by %s", number, year, data["version"],
                "re-issued" if drawn else "issued after their failure", principal.login)
    return current


def failures(ctx: ServiceContext, principal: Principal) -> list[dict]:
    """The issues given up (« Documents non produits »), one per validation, oldest first:
    the staff member's department, every department for the national administrator (the
    route checks the role)."""
    with ctx.database.session() as session:
        rows = issuing.failed(session, department=None if principal.national else principal.department)
    issues: dict[tuple, dict] = {}
    for row in rows:
        issue = issues.setdefault((row.cooperative, row.year, row.version), {
            "cooperative": row.cooperative, "cooperative_name": row.cooperative_name, "department": row.department,
            "year": row.year, "version": row.version, "documents": [], "failure": row.failure,
            "failed_at": row.failed_at,
        })
        issue["documents"].append({"kind": row.kind, "number": row.number})
    for issue in issues.values():
        issue["documents"].sort(key=lambda document: domain.KINDS.index(document["kind"]))
    return list(issues.values())


def current_documents(ctx: ServiceContext, principal: Principal, number: str, year: str) -> list[Document]:
    """The generated, not superseded documents of a cooperative and year, attestation first.

    A school sees only its own cooperative. This service knows a cooperative's
    department only from its documents: staff of another department are refused once
    there is one, and get an empty list before."""
    ensure_own_cooperative(principal, number)
    with ctx.database.session() as session:
        department = session.scalar(select(Document.department).where(Document.cooperative == number).limit(1))
        if department is not None:
            ensure_access(principal, number, department)
        return _current_documents(session, number, year)


def current_file(ctx: ServiceContext, storage: Storage, principal: Principal, number: str, year: str,
                 kind: str) -> tuple[Document, bytes]:
    """The current PDF of one kind, for the cooperative and the staff of its department."""
    if kind not in domain.KINDS:
        raise NotFound("Document inconnu : attestation ou certificate.")
    row = next((row for row in current_documents(ctx, principal, number, year) if row.kind == kind), None)
    if row is None:
        raise NotFound(f"{domain.LABELS[kind]} pas encore disponible pour {year}.")
    return row, _stored(storage, row)


def file_by_number(ctx: ServiceContext, storage: Storage, number: str) -> tuple[Document, bytes]:
    """A generated PDF by its number, superseded ones too: the claim check of
    ``documents.generated``, for the other services of the install."""
    if not domain.is_document_number(number):
        raise NotFound("Document inconnu.")
    with ctx.database.session() as session:
        row = session.scalar(select(Document).where(Document.number == number, Document.generated_at.is_not(None)))
    if row is None:
        raise NotFound("Document inconnu.")
    return row, _stored(storage, row)


def verification(ctx: ServiceContext, token: str) -> dict | None:
    """What the public check behind a QR code shows of a current document; None when the
    token names no document, or one since replaced."""
    if not domain.looks_like_token(token):
        return None
    with ctx.database.session() as session:
        row = session.scalars(
            select(Document).where(
                Document.verify_token == token,
                Document.generated_at.is_not(None),
                Document.superseded_at.is_(None),
            )
        ).first()
        if row is None:
            return None
        return {"valid": True, "cooperative": row.cooperative_name, "year": row.year, "kind": row.kind,
                # shown on the page only, to compare with the paper (the JSON answer keeps its shape)
                "number": row.number, "registration_code": row.registration_code, "department": row.department}


def _give_up(ctx: ServiceContext, data: dict, exc: BaseException) -> None:
    """The issue has failed past its bound: its documents say so, the log says it at ERROR,
    and the task ends (its message acknowledged). Not recorded as processed: a later
    delivery of the event tries again, and a success clears the failure."""
    reason = _failure_of(exc)
    with ctx.database.session() as session:
        marked = issuing.fail(session, data, reason)
    log.error("documents %s %s v%s: given up after %.0f s, %s marked failed: %s", data["cooperative"]["number"],
              data["year"], data["version"], ctx.settings.documents_give_up_seconds,
              ", ".join(row.number for row in marked) or "nothing", reason)


def _failure_of(exc: BaseException) -> str:
    if isinstance(exc, domain.RenderingFailed):
        return domain.failure_text(domain.RENDERING, str(exc))
    return domain.failure_text(domain.STORE, domain.error_text(exc))


def _ensure_staff_access(principal: Principal, number: str, department: str) -> None:
    """Staff of the cooperative's department, or the national administrator."""
    if not (principal.is_staff and principal.national):
        ensure_access(principal, number, department)


def _none_issued(number: str, year: str) -> NotFound:
    return NotFound(f"Aucun document émis pour {number} en {year}.")


def _stored(storage: Storage, row: Document) -> bytes:
    pdf = storage.get(row.storage_key)
    if pdf is None:
        raise Unavailable(FILE_UNAVAILABLE)
    return pdf


def _current_documents(session, number: str, year: str) -> list[Document]:
    """The generated, not superseded documents of a cooperative and year, attestation first."""
    rows = session.scalars(
        select(Document).where(
            Document.cooperative == number,
            Document.year == year,
            Document.generated_at.is_not(None),
            Document.superseded_at.is_(None),
        )
    ).all()
    return sorted(rows, key=lambda row: domain.KINDS.index(row.kind))


def _render(ctx: ServiceContext, data: dict, plan: list[Planned]) -> dict[str, bytes]:
    day = domain.issued_on(data["validated_at"], FRANCE)
    pdfs = {}
    for item in plan:
        try:
            pdfs[item.kind] = renderer(item.kind)(domain.render_input(
                data, item.kind, item.number, f"{ctx.settings.public_base_url}/verify/{item.token}", day))
        except Exception as exc:  # the data or the drawing: retried, then failed for staff
            raise domain.RenderingFailed(f"{item.number} : {domain.error_text(exc)}") from exc
        figures.RENDERED.labels(item.kind).inc()
    return pdfs


def _store(storage: Storage, data: dict, pdfs: dict[str, bytes]) -> dict[str, str]:
    keys = {}
    for kind, pdf in pdfs.items():
        keys[kind] = domain.storage_key(data["cooperative"]["number"], data["year"], kind, data["version"],
                                        hashlib.sha256(pdf).hexdigest())
        storage.put(keys[kind], pdf)
    return keys


def _discard_unrecorded(ctx: ServiceContext, storage: Storage, keys: dict[str, str]) -> None:
    """Remove the files of an attempt that lost, unless a document row names them (the
    winner drew the same bytes): whoever lost learns it after the winner committed."""
    with ctx.database.session() as session:
        recorded = set(session.scalars(select(Document.storage_key).where(Document.storage_key.in_(keys.values()))))
    for key in set(keys.values()) - recorded:
        storage.delete(key)


def _already_processed(ctx: ServiceContext, event_id: str) -> bool:
    with ctx.database.session() as session:
        return session.scalar(
            select(ProcessedEvent.event_id).where(ProcessedEvent.event_id == event_id, ProcessedEvent.consumer == CONSUMER)
        ) is not None
