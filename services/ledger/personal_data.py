"""What the ledger holds about a cooperative's people (its name and mailbox, the labels
its book's entries carry, the quitus's mandataire and vérificateurs aux comptes, the
staff's return message) and their erasure: every entry, amount, piece, closing and the
attached statement stay (accounting, ten years)."""
import json

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.ledger.models import Book, Cooperative, Entry, OutboxEvent
from shared.personal_data import ANONYMISED, rows, scrub_outbox, scrub_text
from shared.service import ServiceContext


def _entries(number: str):
    return select(Entry).join(Book, Book.id == Entry.book_id).where(Book.cooperative == number).order_by(Entry.id)


def _books(number: str):
    return select(Book).where(Book.cooperative == number).order_by(Book.year)


def _quitus_names(book: Book) -> list[str]:
    quitus = json.loads(book.quitus) if book.quitus else {}
    return [person["name"] for person in [quitus.get("mandataire") or {}, *quitus.get("verifiers", [])]
            if person.get("name")]


def _book_row(book: Book) -> dict:
    quitus = json.loads(book.quitus) if book.quitus else None
    return {"year": book.year, "quitus": quitus, "crf_message": book.crf_message}


def export(ctx: ServiceContext, number: str) -> dict:
    with ctx.database.session() as session:
        return {"cooperatives": rows(session, select(Cooperative).where(Cooperative.number == number),
                                     ("number", "name", "email", "town", "department")),
                "books": [_book_row(book) for book in session.scalars(_books(number))],
                "entries": rows(session, _entries(number), ("piece", "date", "label", "payer", "amount",
                                                            "created_by"))}


def erase(ctx: ServiceContext, session: Session, number: str) -> None:
    cooperative = session.get(Cooperative, number)
    known = [value for value in (cooperative.name, cooperative.email) if value] if cooperative is not None else []
    if cooperative is not None:
        cooperative.name = ANONYMISED
        cooperative.email = ANONYMISED if cooperative.email else ""
    quitus = 0
    for book in session.scalars(_books(number)):
        names = _quitus_names(book)
        if names:  # the quitus keeps its dates and qualities: the CRF still shows it was given
            given = json.loads(book.quitus)
            for person in [given["mandataire"], *given["verifiers"]]:
                person["name"] = ANONYMISED
            book.quitus = json.dumps(given, ensure_ascii=False)
            quitus += 1
        known += names
        if book.crf_message:
            known.append(book.crf_message)
            book.crf_message = ANONYMISED
    # a name of one or two letters (« M. ») is replaced in its field, not searched in free text
    known = [value for value in known if len(value.strip()) >= 3]
    changed = 0
    for entry in session.scalars(_entries(number)):
        label, payer = scrub_text(entry.label, known), scrub_text(entry.payer, known)
        changed += (label, payer) != (entry.label, entry.payer)
        entry.label, entry.payer = label, payer
    scrubbed = scrub_outbox(session, OutboxEvent, known)
    ctx.audit(session, "personal_data.erased", number, {"labels": changed, "quitus": quitus, "outbox_rows": scrubbed},
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
