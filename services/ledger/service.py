"""The ledger's use cases: one function per step, called by the API, the handlers and the
tests alike. Each takes the service's context (or, inside a consumer's transaction, its
session) and plain data, checks who may do it, and answers plain data for the schemas to
dump."""
import functools
import hashlib
import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from contracts import ledger as ledger_events
from services.ledger import chart, domain, yearend
from services.ledger import crf_pdf as crf_pdf_module
from services.ledger.models import (
    AdhesionProposal,
    Allocation,
    Book,
    Category,
    Cooperative,
    CrfReminder,
    CrfReminderRound,
    CrfStatement,
    Department,
    Entry,
    OutboxEvent,
    StatementLine,
)
from shared import outbox, schoolyear
from shared.auth import Principal, ensure_access, ensure_own_cooperative
from shared.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge, UnsupportedType
from shared.money import to_cents
from shared.service import ServiceContext, service
from shared.statement_file import read_statement_file

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


def _know(session: Session, number: str, department: str, name: str | None = None, email: str | None = None,
          town: str | None = None) -> None:
    """Remember a cooperative's department (from a school's token or an event), and from
    an event its name, town and mailbox (where the CRF's emails go)."""
    cooperative = session.get(Cooperative, number)
    if cooperative is None:
        session.add(Cooperative(number=number, department=department, name=name or "", email=email or "",
                                town=town or ""))
        session.flush()
    else:
        cooperative.department = department or cooperative.department
        for field, value in (("name", name), ("email", email), ("town", town)):
            if value:
                setattr(cooperative, field, value)


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
        previous = _find_book(session, number, schoolyear.previous(year)) if domain.has_exercise(
            schoolyear.previous(year)) else None
        if previous is not None and previous.closed_at is not None:  # the report à nouveau, automatically
            book.opening_bank, book.opening_cash = previous.closing_bank, previous.closing_cash
            book.opening_carried = True
        session.add(book)
        session.flush()
    return book


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
        "payer": entry.payer, "pointed_on": entry.pointed_on,
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
        "opening": opening, "opening_carried": bool(book and book.opening_carried),
        "closed": bool(book and book.closed_at), "closed_at": book.closed_at if book else None,
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
        _refuse_if_closed(book)
        if book.opening_carried:
            raise Conflict("Le report à nouveau vient de la clôture de l'exercice précédent : il ne se modifie pas.")
        ctx.audit(session, "ledger.opening_set", number, {"year": year, "bank": {"before": book.opening_bank, "after": bank}, "cash": {"before": book.opening_cash, "after": cash}})
        book.opening_bank, book.opening_cash, book.updated_at = bank, cash, now()
        session.flush()
        return _book_view(session, number, year, principal.department)


def _check_entry(session: Session, year: str, department: str, day: date, amount: Decimal,
                 allocations: list[dict], direction: str = domain.EXPENSE, payer: str | None = "x") -> None:
    """Bad input is refused whole, each problem under its field, before anything is written."""
    fields: dict = {}
    if direction == domain.INCOME and not payer and any(yearend.is_subsidy(a["category"]) for a in allocations):
        fields["payer"] = ["Une subvention (compte 74…) indique qui l'a versée : commune, département, État…"]
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
        payer=data.get("payer") or "", adhesion=adhesion, created_by=principal.login, created_at=now(),
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
        book = _book_for_write(session, number, year, principal.department)
        _refuse_if_closed(book)
        _check_entry(session, year, principal.department, data["date"], data["amount"], data["allocations"],
                     data["direction"], data.get("payer"))
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
        entries = _adhesion_lines(proposal, data, today) if data.get("lines") else [
            _adhesion_line(proposal, data, proposal.amount, _proposal_allocations(proposal), today)]
        for index, entry in enumerate(entries):
            try:
                _check_entry(session, year, proposal.department, entry["date"], entry["amount"], entry["allocations"])
            except Invalid as problem:  # the line it is about is named
                if data.get("lines"):
                    raise Invalid(problem.message, {"lines": {str(index): problem.fields}})
                raise
        book = _book_for_write(session, number, year, principal.department)
        _refuse_if_closed(book)
        written = [_write(session, book, entry, principal, adhesion=True) for entry in entries]
        proposal.entry_id = written[0].id
        session.flush()
        return entry_view(written[0], _labels(session, book.department))


def _adhesion_line(proposal: AdhesionProposal, data: dict, amount: Decimal, allocations: list[dict],
                   today: date) -> dict:
    method = data.get("method") or proposal.method
    return {"date": data.get("date") or domain.default_day(today, proposal.year), "label": adhesion_label(proposal),
            "direction": domain.EXPENSE, "account": data.get("account") or domain.account_for(method),
            "method": method, "cheque_number": data.get("cheque_number"), "voucher": data.get("voucher"),
            "amount": amount, "allocations": allocations}


def _adhesion_lines(proposal: AdhesionProposal, data: dict, today: date) -> list[dict]:
    """One entry per payment (150 € by cheque, 185,46 € by transfer), dated as paid, so
    each one meets its line of the bank statement at the pointage."""
    lines = data["lines"]
    total = to_cents(sum((line["amount"] for line in lines), ZERO))
    if total != proposal.amount:
        raise Invalid("Les paiements ne font pas le montant de l'adhésion.",
                      {"lines": [f"Total des paiements {total}, montant de l'adhésion {proposal.amount}."]})
    parts = [(a["category"], a["amount"]) for a in _proposal_allocations(proposal)]
    shares = domain.split_allocations(parts, [line["amount"] for line in lines])
    return [_adhesion_line(proposal, {**line, "voucher": data.get("voucher")}, line["amount"],
                           [{"category": code, "amount": value} for code, value in share], today)
            for line, share in zip(lines, shares)]


def propose_adhesion_entry(session: Session, data: dict) -> bool:
    """From ``adhesion.validated``: propose (or, until it is written, update) the adhesion
    entry of the cooperative and year — one proposal per cooperative and year."""
    cooperative = data["cooperative"]
    number, year = cooperative["number"], data["year"]
    department = cooperative["department"]
    _know(session, number, department, cooperative["name"], cooperative.get("email"), cooperative.get("town"))
    if data.get("department"):
        _department_row(session, department).ref = json.dumps(data["department"], ensure_ascii=False)
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

def _chart(session: Session, department: str) -> dict[str, Category]:
    """The department's chart: OCCE's default accounts (department ""), each replaced by
    the department's own row of the same code when its staff changed the label."""
    rows = session.scalars(select(Category).where(
        or_(Category.department == "", Category.department == department)).order_by(Category.department))
    return {row.code: row for row in rows}


def _labels(session: Session, department: str) -> dict[str, str]:
    return {code: row.label for code, row in _chart(session, department).items()}


def _category_view(row: Category) -> dict:
    return {"code": row.code, "label": row.label, "kind": yearend.kind_of(row.code),
            "subsidy": yearend.is_subsidy(row.code), "department": row.department}


def categories(ctx: ServiceContext, principal: Principal) -> list[dict]:
    with ctx.database.session() as session:
        return [_category_view(row) for _, row in sorted(_chart(session, principal.department).items())]


@_once_more_on_race
def add_category(ctx: ServiceContext, principal: Principal, code: str, label: str) -> dict:
    if not principal.is_staff:
        raise Forbidden("Réservé au personnel de l'OCCE.")
    with ctx.database.session() as session:
        if code in _labels(session, principal.department):
            raise Conflict(f"Le compte {code} existe déjà dans le plan comptable.",
                           {"code": ["Ce numéro de compte existe déjà."]})
        row = Category(department=principal.department, code=code, label=label)
        session.add(row)
        ctx.audit(session, "ledger.category_added", f"compte:{code}", {"code": code})
        session.flush()
        return _category_view(row)


class _DryRun(Exception):
    """Raised inside the transaction of a dry run: everything it did is rolled back."""


def import_categories(ctx: ServiceContext, principal: Principal, body: bytes, dry_run: bool) -> dict:
    """The department's chart from CSV ``code;label``: all or nothing (422 with every
    error); a code of OCCE's default chart given another label becomes the department's."""
    _may_staff(principal)
    try:
        rows, problems = chart.parse(body)
    except chart.TooLarge as exc:
        raise TooLarge(str(exc)) from None
    if problems:
        errors = [vars(p) for p in sorted(problems, key=lambda p: (p.line, p.field))]
        fields: dict = {}
        for error in errors:
            fields.setdefault(str(error["line"]), {}).setdefault(error["field"], []).append(error["message"])
        raise Invalid(f"{len(errors)} erreur(s) : rien n'a été importé.", fields, errors=errors,
                      created=0, updated=0, unchanged=0)
    result = {"created": 0, "updated": 0, "unchanged": 0, "errors": [], "dry_run": dry_run, "rows": []}
    try:
        with ctx.database.session() as session:
            current = _chart(session, principal.department)
            for row in rows:
                existing = current.get(row.code)
                if existing is None:
                    action = "created"
                    session.add(Category(department=principal.department, code=row.code, label=row.label))
                elif existing.label == row.label:
                    action = "unchanged"
                else:
                    action = "updated"
                    if existing.department == principal.department:
                        existing.label = row.label
                    else:  # OCCE's default, relabelled for this department only
                        session.add(Category(department=principal.department, code=row.code, label=row.label))
                result[action] += 1
                result["rows"].append({"line": row.line, "code": row.code, "label": row.label, "action": action})
            session.flush()
            ctx.audit(session, "ledger.chart_imported", f"plan:{principal.department}", {
                **{k: result[k] for k in ("created", "updated", "unchanged")},
                "codes": [r["code"] for r in result["rows"] if r["action"] != "unchanged"]})
            if dry_run:
                raise _DryRun()
    except _DryRun:
        pass
    except IntegrityError:
        raise Conflict("Un autre import du plan comptable est en cours : réessayez.") from None
    return result


# -- the year's end (docs/ledger.md#6-the-years-end) ----------------------------------------

def _department_row(session: Session, code: str) -> Department:
    row = session.get(Department, code)
    if row is None:
        row = Department(code=code, ref="", crf_deadline_month=yearend.DEFAULT_DEADLINE[0],
                         crf_deadline_day=yearend.DEFAULT_DEADLINE[1], crf_reminder_dates="")
        session.add(row)
        session.flush()
    return row


def _deadline(session: Session, department: str, year: str) -> date:
    row = session.get(Department, department)
    month_day = (row.crf_deadline_month, row.crf_deadline_day) if row else yearend.DEFAULT_DEADLINE
    return yearend.deadline(year, month_day)


def _may_staff(principal: Principal) -> None:
    if not principal.is_staff:
        raise Forbidden("Réservé au personnel de l'OCCE.")


def _may_staff_book(session: Session, principal: Principal, number: str) -> None:
    """Staff of the cooperative's department only (403 for another department's, and for
    a cooperative the ledger never heard of: no book to act on)."""
    _may_staff(principal)
    cooperative = session.get(Cooperative, number)
    if cooperative is None:
        raise NotFound(f"Aucun cahier de comptes pour la coopérative {number}.")
    ensure_access(principal, number, cooperative.department)


def _open_book(session: Session, principal: Principal, number: str, year: str) -> Book:
    """The school's book for a year-end step: written, and not closed."""
    _may_write(session, principal, number)
    book = _book_for_write(session, number, year, principal.department)
    _refuse_if_closed(book)
    return book


def _refuse_if_closed(book: Book) -> None:
    if book.closed_at is not None:
        raise Conflict(f"L'exercice {book.year} est clôturé : le cahier ne peut plus être modifié "
                       "(l'OCCE peut le rouvrir tant que le compte rendu financier n'est pas reçu).")


def _entry_by_piece(session: Session, book: Book, piece: str) -> Entry:
    entry = session.scalars(select(Entry).where(Entry.book_id == book.id, Entry.piece == piece)).first()
    if entry is None:
        raise NotFound(f"Aucune écriture {piece} dans le cahier {book.year}.")
    return entry


def point_entry(ctx: ServiceContext, principal: Principal, number: str, year: str, piece: str, on: date) -> dict:
    """Tick a bank entry as seen on the statement on ``on``."""
    with ctx.database.session() as session:
        book = _open_book(session, principal, number, year)
        entry = _entry_by_piece(session, book, piece)
        if entry.account != domain.BANK:
            raise Invalid("Seules les opérations en banque se pointent sur le relevé.",
                          {"piece": ["Opération de caisse : elle se vérifie par l'arrêté de caisse."]})
        # A statement shows an operation once it is made: at most the pairing's days before
        # the entry's own date (the bank's day and the book's may differ), as a statement's line.
        earliest = entry.date - timedelta(days=yearend.PAIRING_DAYS)
        if on < earliest:
            raise Invalid("Le relevé ne peut pas montrer l'opération avant sa date.",
                          {"on": [f"Au plus tôt le {earliest:%d/%m/%Y} ({yearend.PAIRING_DAYS} jours avant "
                                  f"l'écriture du {entry.date:%d/%m/%Y})."]})
        ctx.audit(session, "ledger.entry_pointed", number, {"year": year, "piece": piece,
                                                            "pointed_on": {"before": entry.pointed_on, "after": on}})
        entry.pointed_on = on
        book.updated_at = now()
        session.flush()
        return entry_view(entry, _labels(session, book.department))


def unpoint_entry(ctx: ServiceContext, principal: Principal, number: str, year: str, piece: str) -> dict:
    with ctx.database.session() as session:
        book = _open_book(session, principal, number, year)
        entry = _entry_by_piece(session, book, piece)
        ctx.audit(session, "ledger.entry_unpointed", number, {"year": year, "piece": piece,
                                                              "pointed_on": {"before": entry.pointed_on, "after": None}})
        entry.pointed_on = None
        for line in session.scalars(select(StatementLine).where(StatementLine.entry_id == entry.id)):
            line.entry_id = None  # the statement's line may pair again
        book.updated_at = now()
        session.flush()
        return entry_view(entry, _labels(session, book.department))


def _line_to_pair(line: StatementLine) -> yearend.LineToPair:
    return yearend.LineToPair(line.id, line.booked_on, line.amount, line.cheque_number)


def _entry_to_pair(entry: Entry) -> yearend.EntryToPair:
    return yearend.EntryToPair(entry.piece, entry.date, entry.direction, entry.amount, entry.cheque_number)


def _unpointed_bank_entries(session: Session, book: Book) -> list[Entry]:
    return [e for e in _entries(session, book) if e.account == domain.BANK and e.pointed_on is None]


def _line_view(line: StatementLine) -> dict:
    return {"id": line.id, "booked_on": line.booked_on, "amount": line.amount, "label": line.label,
            "cheque_number": line.cheque_number}


def import_statement(ctx: ServiceContext, principal: Principal, number: str, year: str, data: bytes) -> dict:
    """Read the cooperative's own statement (every format of §6), keep its new lines (a
    line already imported is not added twice) and propose pairs for the lines not paired
    yet: nothing is ticked until the school confirms."""
    parsed = read_statement_file(data)
    try:
        with ctx.database.session() as session:
            book = _open_book(session, principal, number, year)
            known = {line.fingerprint: line for line in session.scalars(
                select(StatementLine).where(StatementLine.book_id == book.id))}
            before = len(known)
            lines = []
            for bank_line, fingerprint in zip(parsed.lines, parsed.fingerprints):
                line = known.get(fingerprint)
                if line is None:
                    line = StatementLine(book_id=book.id, fingerprint=fingerprint, booked_on=bank_line.booked_on,
                                         amount=bank_line.amount, label=bank_line.label[:300],
                                         cheque_number=yearend.cheque_number_in(f"{bank_line.label} {bank_line.bank_ref}"))
                    session.add(line)
                    known[fingerprint] = line
                lines.append(line)
            session.flush()
            ctx.audit(session, "ledger.statement_imported", number, {
                "year": year, "format": parsed.format, "lines": len(parsed.lines), "new_lines": len(known) - before})
            free = [line for line in dict.fromkeys(lines) if line.entry_id is None]
            entries = {e.piece: e for e in _unpointed_bank_entries(session, book)}
            pairs = yearend.propose_pairs((_line_to_pair(line) for line in free),
                                          (_entry_to_pair(e) for e in entries.values()))
            by_id = {line.id: line for line in free}
            labels = _labels(session, book.department)
            return {
                "format": parsed.format, "lines": len(parsed.lines),
                "unpaired": [_line_view(line) for line in free if line.id not in {p[0] for p in pairs}],
                "proposals": [{"line": line_id, "entry": piece, "statement_line": _line_view(by_id[line_id]),
                               "book_entry": entry_view(entries[piece], labels)} for line_id, piece in pairs],
            }
    except IntegrityError:
        raise Conflict("Ce relevé est en cours d'import par ailleurs : réessayez dans un instant.") from None


def confirm_pairs(ctx: ServiceContext, principal: Principal, number: str, year: str, pairs: list[dict]) -> dict:
    """Tick each confirmed entry on its line's date; a line or an entry paired already, or a
    pair that does not match, refuses the whole request (nothing ticked)."""
    with ctx.database.session() as session:
        book = _open_book(session, principal, number, year)
        problems: dict = {}
        seen_lines, seen_pieces, chosen = set(), set(), []
        for index, pair in enumerate(pairs):
            line = session.get(StatementLine, pair["line"])
            entry = session.scalars(select(Entry).where(Entry.book_id == book.id,
                                                        Entry.piece == pair["entry"])).first()
            problem = None
            if line is None or line.book_id != book.id:
                problem = "Ligne de relevé inconnue pour ce cahier."
            elif entry is None:
                problem = f"Aucune écriture {pair['entry']} dans ce cahier."
            elif pair["line"] in seen_lines or pair["entry"] in seen_pieces:
                problem = "Une ligne du relevé va avec une seule écriture, et une écriture avec une seule ligne."
            elif line.entry_id is not None or entry.pointed_on is not None:
                problem = "Déjà pointée."
            elif entry.account != domain.BANK or not yearend.pairs_with(_line_to_pair(line), _entry_to_pair(entry)):
                problem = ("Cette ligne ne correspond pas à l'écriture (montant égal, dates à moins de "
                           f"{yearend.PAIRING_DAYS} jours, même numéro de chèque).")
            if problem:
                problems[str(index)] = [problem]
            seen_lines.add(pair["line"])
            seen_pieces.add(pair["entry"])
            chosen.append((line, entry))
        if problems:
            raise Invalid("Rien n'est pointé : " + next(iter(problems.values()))[0][:1].lower()
                          + next(iter(problems.values()))[0][1:], {"pairs": problems})
        for line, entry in chosen:
            line.entry_id = entry.id
            entry.pointed_on = line.booked_on
        book.updated_at = now()
        ctx.audit(session, "ledger.statement_confirmed", number, {
            "year": year, "pointed": len(chosen), "pieces": [entry.piece for _, entry in chosen]})
        session.flush()
        return {"pointed": len(chosen)}


def _cash_at(session: Session, book: Book, day: date) -> Decimal:
    entries = [e for e in _entries(session, book) if e.date <= day]
    return domain.balances({domain.CASH: book.opening_cash},
                           (domain.Movement(e.direction, e.account, e.amount) for e in entries))[domain.CASH]


def _cash_count_view(session: Session, book: Book) -> dict | None:
    if book is None or book.cash_count_on is None:
        return None
    book_cash = _cash_at(session, book, book.cash_count_on)
    return {"date": book.cash_count_on, "counted": json.loads(book.cash_counted or "{}"),
            "total": book.cash_count_total, "book_cash": book_cash,
            "difference": to_cents(book.cash_count_total - book_cash)}


def count_cash(ctx: ServiceContext, principal: Principal, number: str, year: str, day: date,
               counted: dict[Decimal, int]) -> dict:
    """The arrêté de caisse: notes and coins counted at a date, against the book's cash."""
    if not domain.in_exercise(day, year):
        start, end = domain.exercise(year)
        raise Invalid("La date de l'arrêté de caisse doit être dans l'exercice.",
                      {"date": [f"Du {start:%d/%m/%Y} au {end:%d/%m/%Y}."]})
    with ctx.database.session() as session:
        book = _open_book(session, principal, number, year)
        before = (book.cash_count_on, book.cash_count_total)
        book.cash_count_on = day
        book.cash_counted = json.dumps({f"{value:.2f}": count for value, count in sorted(counted.items(), reverse=True)
                                        if count})
        book.cash_count_total = yearend.counted_total(counted)
        ctx.audit(session, "ledger.cash_counted", number, {
            "year": year, "date": {"before": before[0], "after": day},
            "total": {"before": before[1], "after": book.cash_count_total}})
        book.updated_at = now()
        session.flush()
        return _cash_count_view(session, book)


def _book_lines(entries: list[Entry]) -> list[yearend.BookLine]:
    return [yearend.BookLine(e.piece, e.date, e.label, e.direction, e.account, e.amount, e.pointed_on is not None)
            for e in entries]


def _parts(entries: list[Entry]) -> list[yearend.Part]:
    return [yearend.Part(a.category, e.direction, a.amount) for e in entries for a in e.allocations]


def close_book(ctx: ServiceContext, principal: Principal, number: str, year: str,
               statement_balance: Decimal | None) -> dict:
    """Close the exercise at 31 August when the statement, the pointage and the cash count
    agree with the book (409 naming each check that fails); the next exercise opens with
    the closing balances."""
    with ctx.database.session() as session:
        book = _open_book(session, principal, number, year)
        if statement_balance is not None:
            book.statement_balance = statement_balance
        entries = _entries(session, book)
        opening = {domain.BANK: book.opening_bank, domain.CASH: book.opening_cash}
        balance = domain.balances(opening, (domain.Movement(e.direction, e.account, e.amount) for e in entries))
        pending = yearend.outstanding(_book_lines(entries))
        count = (book.cash_count_on, book.cash_count_total) if book.cash_count_on else None
        start, end = domain.exercise(year)
        unmet = yearend.closing_unmet(book.statement_balance, balance[domain.BANK], pending, count,
                                      balance[domain.CASH], end)
        if unmet:  # nothing kept: the transaction rolls back
            expected = yearend.reconciled_balance(balance[domain.BANK], pending)
            raise _Unmet(unmet, expected=expected)
        book.closing_bank, book.closing_cash = balance[domain.BANK], balance[domain.CASH]
        book.result = yearend.result_of(yearend.operating_account(_parts(entries)))
        book.closed_at = now()
        book.updated_at = now()
        if book.crf_state == yearend.RETURNED:
            book.crf_state = None
        _carry_forward(session, book)
        ctx.audit(session, "ledger.closed", number, {
            "year": year, "statement_balance": book.statement_balance, "bank": book.closing_bank,
            "cash": book.closing_cash, "result": book.result})
        session.flush()
        return {"bank": book.closing_bank, "cash": book.closing_cash, "result": book.result,
                "closed_at": book.closed_at}


class _Unmet(Conflict):
    def __init__(self, unmet: list[str], **extra):
        super().__init__("Conditions non remplies : " + " ".join(yearend.UNMET_TEXT[u] for u in unmet),
                         unmet=unmet, messages={u: yearend.UNMET_TEXT[u] for u in unmet}, **extra)


def _carry_forward(session: Session, book: Book) -> None:
    """The next exercise's report à nouveau: the closing balances, taken automatically."""
    following = schoolyear.following(book.year)
    if not domain.has_exercise(following):
        return
    nxt = _book_for_write(session, book.cooperative, following, book.department)
    nxt.opening_bank, nxt.opening_cash, nxt.opening_carried = book.closing_bank, book.closing_cash, True
    nxt.updated_at = now()


def reopen_book(ctx: ServiceContext, principal: Principal, number: str, year: str) -> dict:
    """Staff reopen a closed book, until the CRF is received; a submitted CRF goes back to
    the school with it."""
    with ctx.database.session() as session:
        _may_staff_book(session, principal, number)
        book = _find_book(session, number, year, lock=True)
        if book is None or book.closed_at is None:
            raise Conflict("Ce cahier n'est pas clôturé.")
        if book.crf_state == yearend.RECEIVED:
            raise Conflict("Le compte rendu financier est reçu : l'exercice ne peut plus être rouvert.")
        _refuse_if_next_closed(session, book)
        ctx.audit(session, "ledger.reopened", number, {
            "year": year, "crf_state": book.crf_state, "result": book.result})
        _reopen(book)
        session.flush()
        return _crf_view(session, book, number, year, date.today())


def _refuse_if_next_closed(session: Session, book: Book) -> None:
    """A closed next exercise opened with this one's closing: changing it would leave that
    opening wrong."""
    following = schoolyear.following(book.year)
    nxt = _find_book(session, book.cooperative, following) if domain.has_exercise(following) else None
    if nxt is not None and nxt.closed_at is not None:
        raise Conflict(f"L'exercice suivant ({following}) est clôturé : rouvrez-le d'abord.")


def _reopen(book: Book) -> None:
    book.closed_at = None
    book.closing_bank = book.closing_cash = book.result = None
    if book.crf_state == yearend.SUBMITTED:
        book.crf_state = None
    book.updated_at = now()


def _quitus(book: Book | None) -> dict | None:
    return json.loads(book.quitus) if book is not None and book.quitus else None


def set_quitus(ctx: ServiceContext, principal: Principal, number: str, year: str, data: dict) -> dict:
    """The mandataire and two vérificateurs aux comptes, distinct, neither the mandataire."""
    problems = yearend.quitus_problems(data["mandataire"]["name"], [v["name"] for v in data["verifiers"]])
    if problems:
        first = _first_message(problems)
        raise Invalid(f"Quitus refusé : {first[:1].lower()}{first[1:]}", problems)
    with ctx.database.session() as session:
        _may_write(session, principal, number)
        book = _book_for_write(session, number, year, principal.department)
        _refuse_once_sent(book)
        # the names stay out of the log: which dates and qualities were given is enough
        ctx.audit(session, "ledger.quitus_set", number, {
            "year": year, "replaced": bool(book.quitus), "mandataire_date": data["mandataire"]["date"],
            "verifiers": [{"quality": v["quality"], "date": v["date"]} for v in data["verifiers"]]})
        book.quitus = json.dumps({
            "mandataire": {"name": data["mandataire"]["name"], "date": data["mandataire"]["date"].isoformat()},
            "verifiers": [{"name": v["name"], "quality": v["quality"], "date": v["date"].isoformat()}
                          for v in data["verifiers"]],
        }, ensure_ascii=False)
        book.updated_at = now()
        session.flush()
        return _quitus(book)


def _refuse_once_sent(book: Book) -> None:
    if book.crf_state in (yearend.SUBMITTED, yearend.RECEIVED):
        raise Conflict("Le compte rendu financier est envoyé : il ne peut plus être modifié.")


def attach_statement(ctx: ServiceContext, principal: Principal, number: str, year: str, data: bytes) -> dict:
    """The bank statement at 31 August: PDF, JPEG or PNG (told from its bytes), ≤ 5 MB."""
    if len(data) > yearend.ATTACHMENT_MAX_BYTES:
        raise TooLarge("Le relevé dépasse 5 Mo.")
    kind = yearend.attachment_type(data)
    if kind is None:
        raise UnsupportedType("Le relevé doit être un PDF, une image JPEG ou PNG.")
    with ctx.database.session() as session:
        _may_write(session, principal, number)
        book = _book_for_write(session, number, year, principal.department)
        _refuse_once_sent(book)
        row = session.get(CrfStatement, book.id) or CrfStatement(book_id=book.id)
        row.media_type, row.size, row.sha256 = kind[0], len(data), hashlib.sha256(data).hexdigest()
        row.content, row.uploaded_at = data, now()
        session.add(row)
        ctx.audit(session, "ledger.statement_attached", number, {
            "year": year, "media_type": row.media_type, "size": row.size, "sha256": row.sha256})
        book.updated_at = now()
        session.flush()
        return {"media_type": row.media_type, "size": row.size, "sha256": row.sha256, "uploaded_at": row.uploaded_at}


def read_attached_statement(ctx: ServiceContext, principal: Principal, number: str,
                            year: str) -> tuple[bytes, str, str]:
    with ctx.database.session() as session:
        _may_read(session, principal, number)
        book = _find_book(session, number, year)
        row = session.get(CrfStatement, book.id) if book else None
        if row is None:
            raise NotFound("Aucun relevé joint au compte rendu financier.")
        extension = next(ext for _, media, ext in yearend.ATTACHMENT_TYPES if media == row.media_type)
        return row.content, row.media_type, extension


def _status(session: Session, book: Book | None, written: set[int] | None = None) -> str:
    """The CRF's status; ``written``: the ids of the books with entries, when the caller
    looked them up at once for a whole department."""
    if book is None:
        has_entries = False
    elif written is not None:
        has_entries = book.id in written
    else:
        has_entries = session.scalar(select(Entry.id).where(Entry.book_id == book.id).limit(1)) is not None
    exists = book is not None and (book.opening_bank != 0 or book.opening_cash != 0 or has_entries)
    return yearend.crf_status(exists, book is not None and book.closed_at is not None,
                              book.crf_state if book else None)


def _late(session: Session, book: Book | None, department: str, year: str, status: str, today: date) -> bool:
    submitted = book.crf_submitted_at.date() if book is not None and book.crf_submitted_at else None
    return yearend.is_late(status, _deadline(session, department, year), today, submitted)


def _crf_view(session: Session, book: Book | None, number: str, year: str, today: date) -> dict:
    cooperative = session.get(Cooperative, number)
    department = book.department if book else (cooperative.department if cooperative else "")
    entries = _entries(session, book)
    labels = _labels(session, department)
    opening = {domain.BANK: book.opening_bank if book else ZERO, domain.CASH: book.opening_cash if book else ZERO}
    balance = domain.balances(opening, (domain.Movement(e.direction, e.account, e.amount) for e in entries))
    totals = yearend.operating_account(_parts(entries))
    status = _status(session, book)

    def accounts(kind: str) -> list[dict]:
        return [{"code": code, "label": labels.get(code, ""), "amount": amount}
                for code, amount in sorted(totals[kind].items())]

    closed = book is not None and book.closed_at is not None
    subsidies = [{"date": e.date, "payer": e.payer, "label": e.label, "piece": e.piece,
                  "amount": to_cents(sum((a.amount for a in e.allocations if yearend.is_subsidy(a.category)), ZERO))}
                 for e in entries if e.direction == domain.INCOME
                 and any(yearend.is_subsidy(a.category) for a in e.allocations)]
    pending = [{"piece": line.piece, "date": line.date, "label": line.label, "direction": line.direction,
                "amount": line.amount} for line in yearend.outstanding(_book_lines(entries))]
    return {
        "cooperative": number, "year": year, "name": cooperative.name if cooperative else "",
        "town": cooperative.town if cooperative else "", "department": department,
        "status": status, "closed": closed, "closed_at": book.closed_at if book else None,
        "charges": accounts(yearend.CHARGE), "produits": accounts(yearend.PRODUIT),
        "total_charges": to_cents(sum(totals[yearend.CHARGE].values(), ZERO)),
        "total_produits": to_cents(sum(totals[yearend.PRODUIT].values(), ZERO)),
        "result": yearend.result_of(totals),
        "opening": opening,
        "closing": {domain.BANK: book.closing_bank, domain.CASH: book.closing_cash} if closed else balance,
        "statement_balance": book.statement_balance if book else None,
        "outstanding": pending, "subsidies": subsidies,
        "cash_count": _cash_count_view(session, book),
        "quitus": _quitus(book),
        "statement_attached": book is not None and session.get(CrfStatement, book.id) is not None,
        "deadline": _deadline(session, department, year) if department else None,
        "late": _late(session, book, department, year, status, today) if department else False,
        "submitted_at": book.crf_submitted_at if book else None,
        "message": book.crf_message if book and status == yearend.RETURNED else "",
    }


def read_crf(ctx: ServiceContext, principal: Principal, number: str, year: str, today: date) -> dict:
    with ctx.database.session() as session:
        _may_read(session, principal, number)
        return _crf_view(session, _find_book(session, number, year), number, year, today)


def _cooperative_ref(session: Session, number: str) -> dict:
    cooperative = session.get(Cooperative, number)
    return {"number": number, "name": cooperative.name, "town": cooperative.town, "email": cooperative.email,
            "department": cooperative.department}


def _department_ref(session: Session, code: str) -> dict:
    row = session.get(Department, code)
    known = json.loads(row.ref) if row is not None and row.ref else {}
    return {"code": code, "name": known.get("name", f"OCCE {code}"), "insurer": known.get("insurer", ""),
            "insurer_contract": known.get("insurer_contract"),
            **{k: known[k] for k in ("sender_name", "address", "phone", "email") if k in known}}


def submit_crf(ctx: ServiceContext, principal: Principal, number: str, year: str, today: date) -> dict:
    """Send the CRF to the department: closed, quitus complete, statement attached (409
    naming what is missing); ``ledger.crf_submitted`` → the acknowledgement email."""
    with ctx.database.session() as session:
        _may_write(session, principal, number)
        book = _find_book(session, number, year, lock=True)
        if book is not None and book.crf_state in (yearend.SUBMITTED, yearend.RECEIVED):
            raise Conflict("Le compte rendu financier est déjà envoyé.", status=book.crf_state)
        unmet = []
        if book is None or book.closed_at is None:
            unmet.append(yearend.CLOSED)
        if _quitus(book) is None:
            unmet.append(yearend.QUITUS)
        if book is None or session.get(CrfStatement, book.id) is None:
            unmet.append(yearend.STATEMENT)
        if unmet:
            raise _Unmet(unmet)
        book.crf_state = yearend.SUBMITTED
        book.crf_submitted_at = now()
        book.crf_submissions += 1
        book.crf_message = ""
        late = today > _deadline(session, book.department, year)
        ctx.audit(session, "ledger.crf_submitted", number, {
            "year": year, "sequence": book.crf_submissions, "late": late, "result": book.result})
        outbox.record(session, OutboxEvent, ledger_events.CRF_SUBMITTED, {
            "cooperative": _cooperative_ref(session, number), "department": _department_ref(session, book.department),
            "year": year, "sequence": book.crf_submissions, "submitted_at": book.crf_submitted_at,
            "result": book.result, "closing": {"bank": book.closing_bank, "cash": book.closing_cash}, "late": late,
        })
        session.flush()
        view = _crf_view(session, book, number, year, today)
    ctx.publish()
    return view


def receive_crf(ctx: ServiceContext, principal: Principal, number: str, year: str, today: date) -> dict:
    with ctx.database.session() as session:
        _may_staff_book(session, principal, number)
        book = _find_book(session, number, year, lock=True)
        if book is None or book.crf_state not in (yearend.SUBMITTED, yearend.RECEIVED):
            raise Conflict("Le compte rendu financier n'est pas envoyé.")
        ctx.audit(session, "ledger.crf_received", number, {
            "year": year, "status": {"before": book.crf_state, "after": yearend.RECEIVED}})
        book.crf_state = yearend.RECEIVED
        session.flush()
        return _crf_view(session, book, number, year, today)


def return_crf(ctx: ServiceContext, principal: Principal, number: str, year: str, message: str,
               today: date) -> dict:
    """Staff send the CRF back with a message: the school is emailed, the book reopens."""
    with ctx.database.session() as session:
        _may_staff_book(session, principal, number)
        book = _find_book(session, number, year, lock=True)
        if book is None or book.crf_state not in (yearend.SUBMITTED, yearend.RECEIVED):
            raise Conflict("Seul un compte rendu financier envoyé peut être renvoyé à l'école.")
        if book.crf_state == yearend.RECEIVED:
            raise Conflict("Le compte rendu financier est reçu : il ne peut plus être renvoyé.")
        _refuse_if_next_closed(session, book)
        # the message may name people: its length only
        ctx.audit(session, "ledger.crf_returned", number, {
            "year": year, "sequence": book.crf_returns + 1, "message_length": len(message)})
        _reopen(book)
        book.crf_state = yearend.RETURNED
        book.crf_message = message
        book.crf_returns += 1
        outbox.record(session, OutboxEvent, ledger_events.CRF_RETURNED, {
            "cooperative": _cooperative_ref(session, number), "department": _department_ref(session, book.department),
            "year": year, "sequence": book.crf_returns, "message": message,
        })
        session.flush()
        view = _crf_view(session, book, number, year, today)
    ctx.publish()
    return view


def crf_campaign(ctx: ServiceContext, principal: Principal, year: str, today: date,
                 status: str | None = None, late: bool | None = None) -> dict:
    """Every cooperative of the department the ledger knows, with its CRF's status."""
    _may_staff(principal)
    with ctx.database.session() as session:
        cooperatives = list(session.scalars(select(Cooperative).where(
            Cooperative.department == principal.department).order_by(Cooperative.number)))
        books = {b.cooperative: b for b in session.scalars(select(Book).where(
            Book.year == year, Book.department == principal.department))}
        written = _books_with_entries(session, list(books.values()))
        items, counts = [], {s: 0 for s in yearend.CRF_STATUSES}
        counts["late"] = 0
        for cooperative in cooperatives:
            book = books.get(cooperative.number)
            state = _status(session, book, written)
            is_late = _late(session, book, principal.department, year, state, today)
            counts[state] += 1
            counts["late"] += is_late
            if (status and state != status) or (late is not None and is_late != late):
                continue
            closed = book is not None and book.closed_at is not None
            items.append({
                "cooperative": cooperative.number, "name": cooperative.name, "town": cooperative.town,
                "status": state, "late": is_late, "result": book.result if closed else None,
                "closing": {domain.BANK: book.closing_bank, domain.CASH: book.closing_cash} if closed else None,
                "submitted_at": book.crf_submitted_at if book else None,
            })
        counts["cooperatives"] = len(cooperatives)
        return {"year": year, "deadline": _deadline(session, principal.department, year), "items": items,
                "counts": counts}


def aggregate(ctx: ServiceContext, principal: Principal, year: str) -> dict:
    """The comptes agrégés: every account summed over the department's received CRFs."""
    _may_staff(principal)
    with ctx.database.session() as session:
        books = list(session.scalars(select(Book).where(
            Book.year == year, Book.department == principal.department, Book.crf_state == yearend.RECEIVED)))
        labels = _labels(session, principal.department)
        parts = [part for book in books for part in _parts(_entries(session, book))]
        totals = yearend.operating_account(parts)
        return {
            "year": year, "crfs": len(books), "labels": labels, "totals": totals,
            "opening": {k: to_cents(sum((getattr(b, f"opening_{k}") for b in books), ZERO)) for k in domain.ACCOUNTS},
            "closing": {k: to_cents(sum((getattr(b, f"closing_{k}") for b in books), ZERO)) for k in domain.ACCOUNTS},
        }


def _books_with_entries(session: Session, books: list[Book]) -> set[int]:
    ids, written = [book.id for book in books], set()
    for start in range(0, len(ids), 500):
        written.update(session.scalars(select(Entry.book_id).distinct().where(Entry.book_id.in_(ids[start:start + 500]))))
    return written


def _reminder_dates(row: Department | None) -> list[str]:
    return json.loads(row.crf_reminder_dates) if row is not None and row.crf_reminder_dates else []


def read_settings(ctx: ServiceContext, principal: Principal) -> dict:
    _may_staff(principal)
    with ctx.database.session() as session:
        row = session.get(Department, principal.department)
        month, day = (row.crf_deadline_month, row.crf_deadline_day) if row else yearend.DEFAULT_DEADLINE
        return {"crf_deadline": f"{month:02d}-{day:02d}", "crf_reminder_dates": _reminder_dates(row)}


@_once_more_on_race
def set_settings(ctx: ServiceContext, principal: Principal, month: int, day: int,
                 reminder_dates: list[str] | None = None) -> dict:
    """The department's own CRF deadline (30 September unless set) and the days of its
    reminder rounds (MM-DD after the exercise's end, sent by Celery beat)."""
    _may_staff(principal)
    with ctx.database.session() as session:
        row = _department_row(session, principal.department)
        before = {"crf_deadline": f"{row.crf_deadline_month:02d}-{row.crf_deadline_day:02d}",
                  "crf_reminder_dates": _reminder_dates(row)}
        row.crf_deadline_month, row.crf_deadline_day = month, day
        if reminder_dates is not None:
            row.crf_reminder_dates = json.dumps(sorted(set(reminder_dates)))
        after = {"crf_deadline": f"{month:02d}-{day:02d}", "crf_reminder_dates": _reminder_dates(row)}
        ctx.audit(session, "ledger.settings_changed", f"departement:{principal.department}",
                  {key: {"before": before[key], "after": after[key]} for key in before if before[key] != after[key]})
        session.flush()
    return read_settings(ctx, principal)


def _next_round(session: Session, department: str, year: str) -> int:
    scheduled = session.scalar(select(func.max(CrfReminderRound.round)).where(
        CrfReminderRound.department == department, CrfReminderRound.year == year)) or 0
    sent = session.scalar(select(func.max(CrfReminder.round)).join(
        Cooperative, Cooperative.number == CrfReminder.cooperative).where(
        Cooperative.department == department, CrfReminder.year == year)) or 0
    return max(scheduled, sent) + 1


def _remind(session: Session, department: str, year: str, round_: int) -> int:
    """One ``ledger.crf_reminder_due`` per cooperative of the department whose CRF is not
    sent, once per cooperative, year and round."""
    reminded = set(session.scalars(select(CrfReminder.cooperative).where(
        CrfReminder.year == year, CrfReminder.round == round_)))
    books = {b.cooperative: b for b in session.scalars(select(Book).where(
        Book.year == year, Book.department == department))}
    written = _books_with_entries(session, list(books.values()))
    sent = 0
    for cooperative in session.scalars(select(Cooperative).where(Cooperative.department == department)):
        if cooperative.number in reminded or not cooperative.email:
            continue
        if _status(session, books.get(cooperative.number), written) in (yearend.SUBMITTED, yearend.RECEIVED):
            continue
        session.add(CrfReminder(cooperative=cooperative.number, year=year, round=round_, sent_at=now()))
        outbox.record(session, OutboxEvent, ledger_events.CRF_REMINDER_DUE, {
            "cooperative": _cooperative_ref(session, cooperative.number),
            "department": _department_ref(session, department), "year": year, "round": round_,
            "deadline": _deadline(session, department, year),
        })
        sent += 1
    session.flush()
    return sent


def remind_crf(ctx: ServiceContext, principal: Principal, year: str, round_: int | None = None) -> dict:
    """A reminder round now (staff): a new round, or ``round_`` again (a retried click
    sends nothing twice)."""
    _may_staff(principal)
    with ctx.database.session() as session:
        round_ = round_ or _next_round(session, principal.department, year)
        sent = _remind(session, principal.department, year, round_)
        ctx.audit(session, "ledger.crf_reminders_sent", f"departement:{principal.department}",
                  {"year": year, "round": round_, "sent": sent})
    ctx.publish()
    return {"round": round_, "sent": sent}


def send_due_crf_rounds(ctx: ServiceContext, today: date) -> list[dict]:
    """What Celery beat runs: each department's reminder date reached (for the exercise
    that ended last 31 August) and not claimed yet is claimed and sent, once."""
    year = schoolyear.previous(schoolyear.of(today))
    with ctx.database.session() as session:
        due = []
        for row in session.scalars(select(Department)):
            for text in _reminder_dates(row):
                month, day = (int(part) for part in text.split("-"))
                when = yearend.deadline(year, (month, day))
                if when <= today and session.get(CrfReminderRound, (row.code, year, when)) is None:
                    due.append((row.code, when))
    sent = []
    for department, when in sorted(due, key=lambda item: item[1]):
        try:
            with ctx.database.session() as session:
                round_ = _next_round(session, department, year)
                claim = CrfReminderRound(department=department, year=year, day=when, round=round_, count=0,
                                         sent_at=now())
                session.add(claim)
                session.flush()  # a second beat's claim fails here
                claim.count = _remind(session, department, year, round_)
                sent.append({"department": department, "year": year, "date": when.isoformat(), "round": round_,
                             "count": claim.count})
        except IntegrityError:
            continue  # claimed by another beat meanwhile
        ctx.publish()
    return sent


def crf_pdf(ctx: ServiceContext, principal: Principal, number: str, year: str, today: date) -> bytes:
    """The CRF as the PDF a department files (``crf_pdf.pdf``)."""
    crf, department_name = crf_document(ctx, principal, number, year, today)
    return crf_pdf_module.pdf(crf, department_name, today)


def crf_document(ctx: ServiceContext, principal: Principal, number: str, year: str, today: date) -> tuple[dict, str]:
    """The CRF's figures and the department's name, for its PDF."""
    with ctx.database.session() as session:
        _may_read(session, principal, number)
        crf = _crf_view(session, _find_book(session, number, year), number, year, today)
        return crf, _department_ref(session, crf["department"] or principal.department)["name"]
