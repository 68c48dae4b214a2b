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


def apply_retention(ctx: ServiceContext, session: Session, department: str, years: int, day) -> None:
    """The department's books of exercises over for longer than ``years`` go, with their
    entries, allocations and proposals (accounting is kept ten years by default)."""
    from sqlalchemy import delete

    from services.ledger.models import AdhesionProposal, Allocation
    from shared.personal_data import oldest_kept_year

    kept = oldest_kept_year(day, years)
    books = select(Book.id).where(Book.department == department, Book.year < kept)
    entries = select(Entry.id).where(Entry.book_id.in_(books))
    proposals = session.execute(delete(AdhesionProposal).where(
        AdhesionProposal.department == department, AdhesionProposal.year < kept)).rowcount
    session.execute(delete(Allocation).where(Allocation.entry_id.in_(entries)))
    removed_entries = session.execute(delete(Entry).where(Entry.book_id.in_(books))).rowcount
    removed_books = session.execute(delete(Book).where(Book.department == department, Book.year < kept)).rowcount
    ctx.audit(session, "retention.applied", f"departement:{department}",
              {"books_removed": removed_books, "entries_removed": removed_entries, "proposals_removed": proposals,
               "years_before": kept, "years": years}, department=department)
