"""The audit service's use cases: append a record at the end of the chain (once per
event), list a department's records, check the chain, apply retention to sign-in
records, answer for the personal data it holds."""
import json
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import delete, func, or_, select, tuple_
from sqlalchemy.orm import Session

from contracts.audit import RECORDED
from services.audit import domain
from services.audit.models import AuditRecord, ChainHead, Tombstone
from shared.auth import Principal
from shared.events import Event
from shared.service import ServiceContext

BATCH = 5000
HEAD = 1
MAX_PAGE = 500
MAX_CSV_ROWS = 100_000
MINIMUM_KEPT = timedelta(days=184)  # the append-only trigger's six months, and a day


def _head(session: Session, lock: bool = True) -> ChainHead:
    query = select(ChainHead).where(ChainHead.id == HEAD)
    if lock:  # PostgreSQL: appends wait for each other here; SQLite's BEGIN IMMEDIATE already does
        query = query.with_for_update()
    head = session.scalars(query).first()
    if head is None:
        head = ChainHead(id=HEAD, seq=0, hash=domain.GENESIS)
        session.add(head)
        session.flush()
    return head


def append(session: Session, event_id: str, record: dict) -> AuditRecord | None:
    """Chain ``record`` (an ``audit.recorded`` as it travels) after the last one, unless this
    event is already in the log; None then. Inside the caller's transaction."""
    head = _head(session)
    if session.scalar(select(AuditRecord.seq).where(AuditRecord.event_id == event_id)) is not None:
        return None  # a redelivery: checked under the head's lock, so two copies cannot both pass
    seq = head.seq + 1
    at = datetime.fromisoformat(record["at"]).astimezone(timezone.utc)
    record = {**record, "at": at.isoformat()}  # hashed as it will read back from the store
    digest = domain.chain_hash(head.hash, seq, record)
    row = AuditRecord(seq=seq, event_id=event_id, at=at,
                      **{name: record[name] for name in domain.FIELDS if name not in ("at", "details")},
                      details=json.dumps(record["details"], sort_keys=True, ensure_ascii=False),
                      prev_hash=head.hash, hash=digest)
    session.add(row)
    head.seq, head.hash = seq, digest
    session.flush()
    return row


def record_event(ctx: ServiceContext, event: Event) -> bool:
    """The consumer's step: one record per event, whatever the deliveries."""
    with ctx.database.session() as session:
        return append(session, event.event_id, RECORDED.raw(event.data)) is not None


def as_travelled(row: AuditRecord) -> dict:
    """The record as it was hashed (the event's fields as they travelled)."""
    return {"at": row.at.isoformat(), "service": row.service, "actor": row.actor, "actor_kind": row.actor_kind,
            "department": row.department, "action": row.action, "target": row.target,
            "details": json.loads(row.details), "address": row.address, "request_id": row.request_id}


def _moment(value, end: bool = False) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    day = value + timedelta(days=1) if end else value  # a day given as "to" includes it whole
    return datetime.combine(day, time(), tzinfo=timezone.utc)


def _filtered(principal: Principal, filters: dict):
    department = domain.department_scope(principal, filters.get("department"))
    query = select(AuditRecord)
    if department:
        query = query.where(AuditRecord.department == department)
    for name in ("actor", "target"):
        if filters.get(name):
            query = query.where(getattr(AuditRecord, name) == filters[name])
    action = filters.get("action")
    if action:  # "payment." lists every action of payments
        query = query.where(AuditRecord.action.startswith(action) if action.endswith(".")
                            else AuditRecord.action == action)
    if filters.get("from_"):
        query = query.where(AuditRecord.at >= _moment(filters["from_"]))
    if filters.get("to"):
        query = query.where(AuditRecord.at < _moment(filters["to"], end=True))
    return query


def list_records(ctx: ServiceContext, principal: Principal, filters: dict) -> dict:
    """A page of the records the principal may read, newest first (by ``at``, then the
    chain's number); ``next`` is the ``before`` of the following page (keyset: as fast on
    page 200 as on page 1). A ``before`` naming no record starts from the newest."""
    limit = min(filters.get("limit") or 100, MAX_PAGE)
    query = _filtered(principal, filters)
    with ctx.database.session() as session:
        if filters.get("before"):  # the keyset: what comes after that record in (at, seq) order
            cursor = session.execute(select(AuditRecord.at, AuditRecord.seq).where(
                AuditRecord.seq == filters["before"])).first()
            if cursor is not None:
                query = query.where(tuple_(AuditRecord.at, AuditRecord.seq) < tuple_(cursor.at, cursor.seq))
        rows = list(session.scalars(query.order_by(AuditRecord.at.desc(), AuditRecord.seq.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [{"seq": row.seq, **as_travelled(row)} for row in rows],
            "next": rows[-1].seq if more else None}


def export_records(ctx: ServiceContext, principal: Principal, filters: dict) -> list[dict]:
    """Every record the filters select (at most MAX_CSV_ROWS), oldest first: the CSV file."""
    query = _filtered(principal, filters).order_by(AuditRecord.at, AuditRecord.seq).limit(MAX_CSV_ROWS)
    with ctx.database.session() as session:
        return [{"seq": row.seq, **as_travelled(row)} for row in session.scalars(query)]


def _links(session: Session):
    """The records in order, by pages, as plain rows (no ORM objects: 100,000 of them)."""
    columns = [getattr(AuditRecord, name) for name in ("seq", "prev_hash", "hash", *domain.FIELDS)]
    after = 0
    while True:
        rows = session.execute(select(*columns).where(AuditRecord.seq > after)
                               .order_by(AuditRecord.seq).limit(BATCH)).all()
        for row in rows:
            record = {name: getattr(row, name) for name in domain.FIELDS}
            record["at"] = record["at"].isoformat()
            record["details"] = json.loads(record["details"])
            yield domain.Link(row.seq, row.prev_hash, row.hash, record)
        if len(rows) < BATCH:
            return
        after = rows[-1].seq


def _tombstones(session: Session):
    after = 0
    while True:
        rows = session.execute(select(Tombstone.seq, Tombstone.hash).where(Tombstone.seq > after)
                               .order_by(Tombstone.seq).limit(BATCH)).all()
        for seq, digest in rows:
            yield domain.Link(seq, None, digest, None)
        if len(rows) < BATCH:
            return
        after = rows[-1][0]


def verify(ctx: ServiceContext, principal: Principal) -> dict:
    domain.ensure_national(principal)
    with ctx.database.session() as session:
        head = session.scalars(select(ChainHead).where(ChainHead.id == HEAD)).first()
        check = domain.verify(domain.merged(_links(session), _tombstones(session)),
                              (head.seq, head.hash) if head else None)
        total = session.scalar(select(func.count()).select_from(AuditRecord))
    return {"records": total, "ok": check.ok, "first_bad": check.first_bad}


def apply_retention(ctx: ServiceContext, session: Session, department: str, months: int, day: date) -> int:
    """Remove the department's sign-in records older than ``months`` (a tombstone keeps
    each one's number and hash, so the chain still checks), and record that it was done."""
    cutoff = datetime.combine(_months_before(day, months), time(), tzinfo=timezone.utc)
    # never younger than the database lets go (the trigger keeps six months whatever is asked)
    cutoff = min(cutoff, datetime.now(timezone.utc) - MINIMUM_KEPT)
    old = session.execute(select(AuditRecord.seq, AuditRecord.hash).where(
        AuditRecord.department == department, AuditRecord.action.in_(domain.SIGN_IN_ACTIONS),
        AuditRecord.at < cutoff)).all()
    now = datetime.now(timezone.utc)
    for start in range(0, len(old), 500):
        chunk = old[start:start + 500]
        session.add_all(Tombstone(seq=seq, hash=digest, removed_at=now) for seq, digest in chunk)
        session.flush()
        session.execute(delete(AuditRecord).where(AuditRecord.seq.in_([seq for seq, _ in chunk])))
    append(session, f"retention-{department}-{day.isoformat()}", {
        "at": now.isoformat(), "service": "audit", "actor": "système", "actor_kind": "system",
        "department": department, "action": "retention.applied", "target": f"departement:{department}",
        "details": {"removed_sign_in_records": len(old), "older_than": cutoff.date().isoformat(), "months": months},
        "address": "", "request_id": ""})
    return len(old)


def _months_before(day: date, months: int) -> date:
    month = day.year * 12 + day.month - 1 - months
    year, month = divmod(month, 12)
    for last in (31, 30, 29, 28):
        try:
            return date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def personal_data(ctx: ServiceContext, number: str) -> dict:
    """The records by or about the cooperative (its login is its number): what it did,
    what was done to it. Records hold no names or mailboxes, so an erasure leaves them."""
    with ctx.database.session() as session:
        rows = session.scalars(select(AuditRecord).where(
            or_(AuditRecord.target == number, AuditRecord.actor == number)).order_by(AuditRecord.seq))
        return {"records": [{"seq": row.seq, **as_travelled(row)} for row in rows]}


def details_text(details: dict) -> str:
    """``details`` on one line for the CSV file and the page: ``amount=439.25, paid=0.00 → 439.25``."""
    parts = []
    for key, value in details.items():
        if isinstance(value, dict) and set(value) == {"before", "after"}:
            value = f"{value['before']} → {value['after']}"
        parts.append(f"{key}={value}")
    return ", ".join(parts)
