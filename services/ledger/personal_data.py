"""What the ledger holds about a cooperative's people (its name, the labels its book's
entries carry) and their erasure: every entry, amount and piece stays (accounting,
ten years)."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ledger.models import Book, Cooperative, Entry
from shared.personal_data import ANONYMISED, rows, scrub_text
from shared.service import ServiceContext


def _entries(number: str):
    return select(Entry).join(Book, Book.id == Entry.book_id).where(Book.cooperative == number).order_by(Entry.id)


def export(ctx: ServiceContext, number: str) -> dict:
    with ctx.database.session() as session:
        return {"cooperatives": rows(session, select(Cooperative).where(Cooperative.number == number),
                                     ("number", "name", "department")),
                "entries": rows(session, _entries(number), ("piece", "date", "label", "amount", "created_by"))}


def erase(ctx: ServiceContext, session: Session, number: str) -> None:
    cooperative = session.get(Cooperative, number)
    known = [cooperative.name] if cooperative is not None and cooperative.name else []
    if cooperative is not None:
        cooperative.name = ANONYMISED
    changed = 0
    for entry in session.scalars(_entries(number)):
        label = scrub_text(entry.label, known)
        changed += label != entry.label
        entry.label = label
    ctx.audit(session, "personal_data.erased", number, {"labels": changed},
              department=cooperative.department if cooperative is not None else "")
