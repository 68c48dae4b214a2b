"""The ledger's use cases: one function per step, called by the API, the handlers and the
tests alike. Each takes the service's context (or, inside a consumer's transaction, its
session) and plain data, checks who may do it, and answers plain data for the schemas to
dump."""
import functools
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from services.ledger import domain
from services.ledger.models import AdhesionProposal, Allocation, Book, Category, Cooperative, Entry
from shared.auth import Principal, ensure_access, ensure_own_cooperative
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.service import ServiceContext, service

ZERO = domain.ZERO
STAFF_READ_ONLY = "Le cahier de comptes est tenu par l'école : le personnel de l'OCCE le consulte seulement."


def now() -> datetime:
    return datetime.now(timezone.utc)


# -- who may do what ----------------------------------------------------------------------

def _may_read(session: Session, principal: Principal, number: str) -> None:
    """A school reads its own book; staff read the books of their department's cooperatives."""
    ensure_own_cooperative(principal, number)
    cooperative = session.get(Cooperative, number) if principal.is_staff else None
    # a cooperative the ledger never heard of has no book: staff see it empty, whoever they are
    if cooperative is not None:
        ensure_access(principal, number, cooperative.department)


def _may_write(session: Session, principal: Principal, number: str) -> None:
    if principal.is_staff:
        raise Forbidden(STAFF_READ_ONLY)
    ensure_own_cooperative(principal, number)
    _know(session, number, principal.department)


def _know(session: Session, number: str, department: str, name: str | None = None) -> None:
    """Remember a cooperative's department (from a school's token or an event)."""
    cooperative = session.get(Cooperative, number)
    if cooperative is None:
        session.add(Cooperative(number=number, department=department, name=name or ""))
        session.flush()
    else:
        cooperative.department = department or cooperative.department
        if name:
            cooperative.name = name


def _once_more_on_race(use_case):
    """Two first writes of one book (or one new category) racing on a unique key: the
    loser runs again and finds the winner's row; a second collision is a 409."""

    @functools.wraps(use_case)
    def run(*args, **kwargs):
        try:
            return use_case(*args, **kwargs)
        except IntegrityError:
            pass
        try:
            return use_case(*args, **kwargs)
        except IntegrityError:
            raise Conflict("Une autre modification a eu lieu en même temps : réessayez.") from None

    return run


# -- the book -----------------------------------------------------------------------------

def _find_book(session: Session, number: str, year: str, lock: bool = False) -> Book | None:
    query = select(Book).where(Book.cooperative == number, Book.year == year)
    if lock:  # writers of one book queue here (SQLite: BEGIN IMMEDIATE already does)
        query = query.with_for_update()
    return session.scalars(query).first()


def _book_for_write(session: Session, number: str, year: str, department: str) -> Book:
    book = _find_book(session, number, year, lock=True)
    if book is None:
        book = Book(cooperative=number, year=year, department=department, opening_bank=ZERO, opening_cash=ZERO,
                    updated_at=now())
        session.add(book)
        session.flush()
    return book


def _labels(session: Session, department: str) -> dict[str, str]:
    rows = session.scalars(select(Category).where(or_(Category.department == "", Category.department == department)))
    return {row.code: row.label for row in rows}


def _entries(session: Session, book: Book | None) -> list[Entry]:
    if book is None:
        return []
    return list(session.scalars(select(Entry).where(Entry.book_id == book.id).options(
        selectinload(Entry.allocations)).order_by(Entry.date, Entry.id)))


def entry_view(entry: Entry, labels: dict[str, str]) -> dict:
    return {
        "id": entry.id, "piece": entry.piece, "date": entry.date, "label": entry.label,
        "direction": entry.direction, "account": entry.account, "method": entry.method,
        "cheque_number": entry.cheque_number, "voucher": entry.voucher, "amount": entry.amount,
        "allocations": [{"category": a.category, "label": labels.get(a.category, ""), "amount": a.amount}
                        for a in entry.allocations],
        "adhesion": entry.adhesion,
    }


def _book_view(session: Session, number: str, year: str, department: str) -> dict:
    book = _find_book(session, number, year)
    entries = _entries(session, book)
    opening = {domain.BANK: book.opening_bank if book else ZERO, domain.CASH: book.opening_cash if book else ZERO}
    labels = _labels(session, book.department if book else department)
    start, end = domain.exercise(year)
    return {
        "cooperative": number, "year": year, "exercise": {"start": start, "end": end},
        "opening": opening,
        "entries": [entry_view(entry, labels) for entry in entries],
        "balance": domain.balances(opening, (domain.Movement(e.direction, e.account, e.amount) for e in entries)),
        "empty": not entries,
    }


def read_book(ctx: ServiceContext, principal: Principal, number: str, year: str) -> dict:
    with ctx.database.session() as session:
        _may_read(session, principal, number)
        return _book_view(session, number, year, principal.department)


@_once_more_on_race
def set_opening(ctx: ServiceContext, principal: Principal, number: str, year: str, bank: Decimal,
                cash: Decimal) -> dict:
    """The *report à nouveau*: what the bank account and the cash box held on 1 September."""
    with ctx.database.session() as session:
        _may_write(session, principal, number)
        book = _book_for_write(session, number, year, principal.department)
        ctx.audit(session, "ledger.opening_set", number, {"year": year, "bank": {"before": book.opening_bank, "after": bank}, "cash": {"before": book.opening_cash, "after": cash}})
        book.opening_bank, book.opening_cash, book.updated_at = bank, cash, now()
        session.flush()
        return _book_view(session, number, year, principal.department)


def _check_entry(session: Session, year: str, department: str, day: date, amount: Decimal,
                 allocations: list[dict]) -> None:
    """Bad input is refused whole, each problem under its field, before anything is written."""
    fields: dict = {}
    if not domain.in_exercise(day, year):
        start, end = domain.exercise(year)
        fields["date"] = [f"La date doit être dans l'exercice {year} : du {start:%d/%m/%Y} au {end:%d/%m/%Y}."]
    known = _labels(session, department)
    unknown = {str(i): {"category": [f"Compte {a['category']} inconnu du plan comptable du département."]}
               for i, a in enumerate(allocations) if a["category"] not in known}
    if unknown:
        fields["allocations"] = unknown
    else:
        problem = domain.allocation_problem(amount, (a["amount"] for a in allocations))
        if problem:
            fields["allocations"] = [problem]
    if fields:
        first = _first_message(fields)
        raise Invalid(f"L'écriture n'est pas enregistrée : {first[:1].lower()}{first[1:]}", fields)


def _first_message(fields: dict) -> str:
    value = next(iter(fields.values()))
    while isinstance(value, dict):
        value = next(iter(value.values()))
    return value[0] if isinstance(value, list) else str(value)


def _write(session: Session, book: Book, data: dict, principal: Principal, adhesion: bool = False) -> Entry:
    used = session.scalars(select(Entry.sequence).where(Entry.book_id == book.id,
                                                        Entry.direction == data["direction"]))
    sequence = domain.next_sequence(used)
    entry = Entry(
        book_id=book.id, direction=data["direction"], sequence=sequence, piece=domain.piece(data["direction"], sequence),
        date=data["date"], label=data["label"], account=data["account"], method=data["method"],
        cheque_number=data.get("cheque_number") or "", voucher=data.get("voucher") or "", amount=data["amount"],
        adhesion=adhesion, created_by=principal.login, created_at=now(),
        allocations=[Allocation(category=a["category"], amount=a["amount"]) for a in data["allocations"]],
    )
    session.add(entry)
    book.updated_at = now()
    session.flush()
    service().audit(session, "ledger.entry_written", book.cooperative, {"year": book.year, "piece": entry.piece, "amount": entry.amount, "adhesion": adhesion})
    return entry


@_once_more_on_race
def add_entry(ctx: ServiceContext, principal: Principal, number: str, year: str, data: dict) -> dict:
    """A new line of the book, numbered D… (expense) or R… (income)."""
    with ctx.database.session() as session:
        _may_write(session, principal, number)
        _check_entry(session, year, principal.department, data["date"], data["amount"], data["allocations"])
        book = _book_for_write(session, number, year, principal.department)
        return entry_view(_write(session, book, data, principal), _labels(session, book.department))


# -- the adhesion entry -------------------------------------------------------------------

def _proposal(session: Session, number: str, year: str, lock: bool = False) -> AdhesionProposal | None:
    query = select(AdhesionProposal).where(AdhesionProposal.cooperative == number, AdhesionProposal.year == year)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def _proposal_allocations(proposal: AdhesionProposal) -> list[dict]:
    parts = ((domain.MEMBERSHIP_ACCOUNT, proposal.membership), (domain.INSURANCE_ACCOUNT, proposal.insurance))
    return [{"category": code, "amount": amount} for code, amount in parts if amount > 0]


def adhesion_label(proposal: AdhesionProposal) -> str:
    what = "Adhésion et assurance OCCE" if proposal.insurance > 0 else "Adhésion OCCE"
    code = f" (code {proposal.registration_code})" if proposal.registration_code else ""
    return f"{what} {proposal.year.replace('-', ' - ')}{code}"


def _proposal_view(session: Session, proposal: AdhesionProposal, today: date) -> dict:
    book = _find_book(session, proposal.cooperative, proposal.year)
    entries = _entries(session, book)
    written = session.get(Entry, proposal.entry_id) if proposal.entry_id else None
    labels = _labels(session, proposal.department)
    return {
        "cooperative": proposal.cooperative, "year": proposal.year, "registration_code": proposal.registration_code,
        "label": adhesion_label(proposal), "amount": written.amount if written else proposal.amount,
        "allocations": [{**a, "label": labels.get(a["category"], "")} for a in _proposal_allocations(proposal)],
        "method": written.method if written else proposal.method,
        "account": written.account if written else domain.account_for(proposal.method),
        "date": written.date if written else domain.default_day(today, proposal.year),
        "first_entry": not entries, "written": written is not None, "piece": written.piece if written else None,
    }


def read_adhesion_entry(ctx: ServiceContext, principal: Principal, number: str, year: str, today: date) -> dict:
    with ctx.database.session() as session:
        _may_read(session, principal, number)
        proposal = _proposal(session, number, year)
        if proposal is None:
            raise NotFound(f"Aucune adhésion {year} validée pour la coopérative {number} : "
                           "rien à écrire dans le cahier pour l'instant.")
        return _proposal_view(session, proposal, today)


@_once_more_on_race
def write_adhesion_entry(ctx: ServiceContext, principal: Principal, number: str, year: str, data: dict,
                         today: date) -> dict:
    """The school writes the proposed entry, with its cheque and voucher numbers: once."""
    with ctx.database.session() as session:
        _may_write(session, principal, number)
        proposal = _proposal(session, number, year, lock=True)
        if proposal is None:
            raise NotFound(f"Aucune adhésion {year} validée pour la coopérative {number}.")
        if proposal.entry_id is not None:
            written = session.get(Entry, proposal.entry_id)
            raise Conflict(f"L'adhésion est déjà écrite dans le cahier de comptes (pièce {written.piece}).",
                           piece=written.piece)
        method = data.get("method") or proposal.method
        entry = {
            "date": data.get("date") or domain.default_day(today, year), "label": adhesion_label(proposal),
            "direction": domain.EXPENSE, "account": data.get("account") or domain.account_for(method),
            "method": method, "cheque_number": data.get("cheque_number"), "voucher": data.get("voucher"),
            "amount": proposal.amount, "allocations": _proposal_allocations(proposal),
        }
        _check_entry(session, year, proposal.department, entry["date"], entry["amount"], entry["allocations"])
        book = _book_for_write(session, number, year, principal.department)
        written = _write(session, book, entry, principal, adhesion=True)
        proposal.entry_id = written.id
        session.flush()
        return entry_view(written, _labels(session, book.department))


def propose_adhesion_entry(session: Session, data: dict) -> bool:
    """From ``adhesion.validated``: propose (or, until it is written, update) the adhesion
    entry of the cooperative and year — one proposal per cooperative and year."""
    cooperative = data["cooperative"]
    number, year = cooperative["number"], data["year"]
    department = cooperative["department"]
    _know(session, number, department, cooperative["name"])
    proposal = _proposal(session, number, year, lock=True)
    version = data["version"]
    if proposal is not None and (proposal.entry_id is not None or not domain.is_newer(version, proposal.version)):
        return False  # already in the book, or an older validation arriving late
    proposed = domain.adhesion_entry(data["amounts"], data["amount_paid"], data["payment_methods"])
    if proposal is None:
        proposal = AdhesionProposal(cooperative=number, year=year)
        session.add(proposal)
    allocated = dict(proposed.allocations)
    proposal.department = department
    proposal.version = version
    proposal.registration_code = data["registration_code"]
    proposal.amount = proposed.amount
    proposal.membership = allocated.get(domain.MEMBERSHIP_ACCOUNT, ZERO)
    proposal.insurance = allocated.get(domain.INSURANCE_ACCOUNT, ZERO)
    proposal.method = proposed.method
    proposal.updated_at = now()
    session.flush()
    return True


# -- the chart of accounts ----------------------------------------------------------------

def categories(ctx: ServiceContext, principal: Principal) -> list[dict]:
    with ctx.database.session() as session:
        rows = session.scalars(select(Category).where(
            or_(Category.department == "", Category.department == principal.department)).order_by(Category.code))
        return [{"code": row.code, "label": row.label, "department": row.department} for row in rows]


@_once_more_on_race
def add_category(ctx: ServiceContext, principal: Principal, code: str, label: str) -> dict:
    if not principal.is_staff:
        raise Forbidden("Réservé au personnel de l'OCCE.")
    with ctx.database.session() as session:
        if code in _labels(session, principal.department):
            raise Conflict(f"Le compte {code} existe déjà dans le plan comptable.",
                           {"code": ["Ce numéro de compte existe déjà."]})
        session.add(Category(department=principal.department, code=code, label=label))
        ctx.audit(session, "ledger.category_added", f"compte:{code}", {"code": code})
        session.flush()
        return {"code": code, "label": label, "department": principal.department}
