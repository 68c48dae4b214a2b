"""What the notify service holds about a cooperative's people (the emails sent to its
mailbox: address, subject, body) and their erasure, and the retention of the email log's
bodies: the rows stay (kind, status, dates), their bodies go."""
from datetime import date, datetime, time, timezone

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.notify.models import Message
from shared.personal_data import ANONYMISED, rows
from shared.service import ServiceContext


def export(ctx: ServiceContext, number: str) -> dict:
    with ctx.database.session() as session:
        messages = rows(session, select(Message).where(Message.cooperative == number).order_by(Message.id),
                        ("kind", "year", "to", "subject", "status", "sent_at", "created_at"))
        bodies = {row.id: row.raw for row in session.scalars(select(Message).where(Message.cooperative == number)
                                                            .order_by(Message.id))}
    for message, raw in zip(messages, bodies.values()):
        message["body"] = raw.decode("utf-8", "replace") if raw else ""
    return {"messages": messages}


def erase(ctx: ServiceContext, session: Session, number: str) -> None:
    changed = session.execute(update(Message).where(Message.cooperative == number).values(
        to=ANONYMISED, subject=ANONYMISED, raw=b"", last_error=None)).rowcount
    ctx.audit(session, "personal_data.erased", number, {"messages": changed})


def apply_retention(ctx: ServiceContext, session: Session, department: str, months: int, day: date) -> None:
    """The bodies of the department's emails older than ``months`` are removed (the log
    keeps who, when, what kind and the status)."""
    month = day.year * 12 + day.month - 1 - months
    cutoff = datetime.combine(date(month // 12, month % 12 + 1, 1), time(), tzinfo=timezone.utc)
    changed = session.execute(update(Message).where(
        Message.department == department, Message.created_at < cutoff, Message.status != "queued",
        Message.raw != b"").values(raw=b"")).rowcount
    ctx.audit(session, "retention.applied", f"departement:{department}", {"email_bodies_removed": changed,
                                                                            "older_than": cutoff.date(), "months": months},
              department=department)
