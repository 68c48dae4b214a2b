"""The payment service's use cases: one function per step, plain data in, what happened
out. The API, the handlers, the pages (through the API) and the bench all call these."""
import json
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.payment import domain, events, slips
from services.payment.models import (
    Cheque, ChequeSlip, Due, PayerAccount, Payment, Statement, StatementLine,
)
from services.payment.statements import StatementError, read_statement
from services.payment.views import dues_state, find_due
from shared.auth import Principal, ensure_access
from shared.errors import ApiError
from shared.service import after_commit_publish, service

CONFIRMED, SUGGESTED, UNMATCHED, IGNORED = "confirmed", "suggested", "unmatched", "ignored"


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _database():
    return service().database


def _same_department(principal: Principal, department: str) -> None:
    if principal.department != department:
        raise ApiError(403, "Cette donnée relève d'un autre département.")


# --- Dues and payments -------------------------------------------------------------------

def dues_of(principal: Principal, number: str, year: str) -> dict:
    """Amount due, paid, balance, status and the payment reference."""
    with _database().session() as session:
        due = find_due(session, number, year)
        if due is None:
            raise ApiError(404, f"Aucune adhésion {year} saisie pour la coopérative {number}.")
        ensure_access(principal, due.cooperative, due.department)
        return dues_state(session, due).answer()


def record_payment(principal: Principal, cooperative: str, year: str, amount: Decimal, method: str,
                   reference: str, received_on: date, *, session: Session | None = None,
                   statement_line_id: int | None = None) -> dict:
    """Record a payment received; the new dues state goes out as ``payment.received``.
    Inside ``session`` when a larger step (a statement line, a cheque) records it."""
    if session is None:
        with _database().session() as session:
            answer = record_payment(principal, cooperative, year, amount, method, reference, received_on,
                                    session=session, statement_line_id=statement_line_id)
        after_commit_publish()
        return answer
    due = find_due(session, cooperative, year, lock=True)
    if due is None:
        raise ApiError(
            409, f"L'adhésion {cooperative} {year} n'a pas encore été saisie : le montant dû n'est pas connu.",
            {"cooperative": ["Aucune adhésion saisie pour cette coopérative et cette année."]},
        )
    ensure_access(principal, due.cooperative, due.department)
    payment = Payment(
        cooperative=cooperative, year=year, department=due.department, amount=amount, method=method,
        reference=(reference or "").strip()[:100], received_on=received_on, recorded_by=principal.login,
        created_at=_now(), statement_line_id=statement_line_id, reason="",
    )
    session.add(payment)
    session.flush()
    state = dues_state(session, due)
    events.received(session, state)
    return {"payment": payment, "dues": state.answer()}


def list_payments(principal: Principal, cooperative: str | None = None, year: str | None = None) -> list[Payment]:
    query = select(Payment).where(Payment.department == principal.department)
    if cooperative:
        query = query.where(Payment.cooperative == cooperative)
    if year:
        query = query.where(Payment.year == year)
    with _database().session() as session:
        if cooperative:  # another department's cooperative: refused, not an empty list
            department = session.scalar(select(Due.department).where(Due.cooperative == cooperative).limit(1))
            if department is not None:
                ensure_access(principal, cooperative, department)
        return list(session.scalars(query.order_by(Payment.received_on, Payment.id)))


def reverse_payment(principal: Principal, payment_id: int, reason: str, amount: Decimal | None = None) -> dict:
    """Cancel a payment typed wrong, a cheque returned unpaid or refund an overpayment: a
    negative payment with its reason, who and when; the original row stays."""
    with _database().session() as session:
        original = session.get(Payment, payment_id)
        if original is None:
            raise ApiError(404, "Paiement introuvable.")
        _same_department(principal, original.department)
        due = find_due(session, original.cooperative, original.year, lock=True)
        if original.reverses_id is not None or original.amount <= 0:
            raise ApiError(409, "Une annulation ne s'annule pas : enregistrez un nouveau paiement.")
        already = -sum((p.amount for p in session.scalars(
            select(Payment).where(Payment.reverses_id == original.id))), Decimal(0))
        left = original.amount - already
        amount = left if amount is None else amount
        if left <= 0:
            raise ApiError(409, "Ce paiement est déjà entièrement annulé.")
        if amount > left:
            raise ApiError(422, "Le montant annulé dépasse ce qui reste du paiement.",
                           {"amount": [f"Au plus {left} (montant du paiement non encore annulé)."]})
        reversal = Payment(
            cooperative=original.cooperative, year=original.year, department=original.department,
            amount=-amount, method=original.method, reference=f"Annulation du paiement n°{original.id}",
            received_on=date.today(), recorded_by=principal.login, created_at=_now(),
            reverses_id=original.id, reason=reason,
        )
        session.add(reversal)
        session.flush()
        state = dues_state(session, due)
        events.received(session, state)
        answer = {"payment": reversal, "dues": state.answer()}
    after_commit_publish()
    return answer


# --- Statements --------------------------------------------------------------------------

def import_statement(principal: Principal, data: bytes, filename: str = "") -> dict:
    """Read a statement file and store its new lines with their suggestions; a file that
    cannot be read is refused whole (nothing stored)."""
    try:
        parsed = read_statement(data)
    except StatementError as error:
        where = {"line": error.line} if error.line else ({"element": error.element} if error.element else {})
        raise ApiError(422, f"Relevé refusé, {error.message}", {"file": [error.message]}, **where)
    try:
        return _store_statement(principal, parsed, filename)
    except IntegrityError:  # the same lines stored meanwhile by another import: nothing of this one kept
        raise ApiError(409, "Ce relevé est en cours d'import par ailleurs : réessayez dans un instant.")


def _store_statement(principal: Principal, parsed, filename: str) -> dict:
    department = principal.department
    with _database().session() as session:
        known = set()
        prints = parsed.fingerprints
        for start in range(0, len(prints), 500):
            known.update(session.scalars(select(StatementLine.fingerprint).where(
                StatementLine.department == department,
                StatementLine.fingerprint.in_(prints[start:start + 500]))))
        statement = Statement(
            department=department, format=parsed.format, layout=parsed.layout, filename=(filename or "")[:200],
            account=parsed.account[:64], lines_read=len(parsed.lines), new_lines=0, duplicates=0,
            imported_by=principal.login, imported_at=_now(),
        )
        session.add(statement)
        session.flush()
        matcher = _matcher(session, department)
        rows = []
        for line, fingerprint in zip(parsed.lines, prints):
            if fingerprint in known:
                continue
            known.add(fingerprint)  # never twice, even within one file (same rank = same line)
            suggestions = matcher.suggest(_credit(line)) if line.amount > 0 else []
            rows.append(dict(
                statement_id=statement.id, department=department, fingerprint=fingerprint,
                account=line.account[:64], booked_on=line.booked_on, amount=line.amount, label=line.label[:500],
                payer=line.payer[:200], payer_iban=line.payer_iban[:34], bank_ref=line.bank_ref[:100],
                status=IGNORED if line.amount <= 0 else (SUGGESTED if suggestions else UNMATCHED),
                suggestions=json.dumps(suggestions, default=str), decided_by="",
            ))
        if rows:
            session.execute(insert(StatementLine), rows)
        statement.new_lines = len(rows)
        statement.duplicates = len(parsed.lines) - len(rows)
        return _statement_answer(statement)


def _statement_answer(statement: Statement) -> dict:
    return {"id": statement.id, "format": statement.format, "layout": statement.layout,
            "filename": statement.filename, "account": statement.account, "lines": statement.lines_read,
            "new_lines": statement.new_lines, "duplicates": statement.duplicates,
            "imported_at": statement.imported_at, "imported_by": statement.imported_by}


def list_statements(principal: Principal) -> list[dict]:
    with _database().session() as session:
        statements = session.scalars(select(Statement).where(Statement.department == principal.department)
                                     .order_by(Statement.id.desc()))
        counts = dict(session.execute(
            select(StatementLine.statement_id, func.count()).where(
                StatementLine.department == principal.department, StatementLine.status == CONFIRMED)
            .group_by(StatementLine.statement_id)).all())
        return [{**_statement_answer(s), "confirmed": counts.get(s.id, 0)} for s in statements]


def statement_lines(principal: Principal, statement_id: int) -> list[dict]:
    """Every line of a statement, suggestions worked out again against today's dues."""
    with _database().session() as session:
        statement = _statement(session, principal, statement_id)
        lines = list(session.scalars(select(StatementLine).where(StatementLine.statement_id == statement.id)
                                     .order_by(StatementLine.id)))
        matcher = _matcher(session, principal.department)
        payments: dict[int, list] = {}
        for payment in session.scalars(select(Payment).join(StatementLine, Payment.statement_line_id ==
                                                            StatementLine.id)
                                       .where(StatementLine.statement_id == statement.id).order_by(Payment.id)):
            payments.setdefault(payment.statement_line_id, []).append(payment)
        slips_by_id = {s.id: s for s in session.scalars(select(ChequeSlip).where(
            ChequeSlip.department == principal.department, ChequeSlip.banked_line_id.is_not(None)))}
        return [_line_answer(session, line, matcher, payments, slips_by_id) for line in lines]


def _statement(session, principal, statement_id) -> Statement:
    statement = session.get(Statement, statement_id)
    if statement is None:
        raise ApiError(404, "Relevé introuvable.")
    _same_department(principal, statement.department)
    return statement


def _line_answer(session, line: StatementLine, matcher: domain.Matcher | None, payments: dict | None = None,
                 slips_by_id: dict | None = None) -> dict:
    status = line.status
    suggestions = []
    if status in (SUGGESTED, UNMATCHED) and matcher is not None:
        suggestions = matcher.suggest(_credit(line))
        status = SUGGESTED if suggestions else UNMATCHED
    answer = {"id": line.id, "statement": line.statement_id, "booked_on": line.booked_on, "amount": line.amount,
              "label": line.label, "payer": line.payer, "payer_iban": line.payer_iban, "bank_ref": line.bank_ref,
              "status": status, "suggestions": suggestions, "decided_by": line.decided_by,
              "decided_at": line.decided_at}
    if line.status == CONFIRMED:
        answer["payments"] = payments.get(line.id, []) if payments is not None else list(session.scalars(
            select(Payment).where(Payment.statement_line_id == line.id).order_by(Payment.id)))
        if line.slip_id:
            slip = (slips_by_id or {}).get(line.slip_id) or session.get(ChequeSlip, line.slip_id)
            answer["slip"] = {"id": slip.id, "number": slip.number}
    return answer


def _credit(line) -> domain.Credit:
    return domain.Credit(amount=line.amount, label=line.label, payer=line.payer, payer_iban=line.payer_iban,
                         booked_on=line.booked_on)


def _matcher(session: Session, department: str) -> domain.Matcher:
    """The department's dues with what is still owed, confirmed payer accounts and the
    closed slips waiting for their bank credit."""
    dues = list(session.scalars(select(Due).where(Due.department == department)))
    paid: dict[tuple, Decimal] = {}
    for cooperative, year, amount in session.execute(
            select(Payment.cooperative, Payment.year, Payment.amount).where(Payment.department == department)):
        paid[(cooperative, year)] = paid.get((cooperative, year), Decimal(0)) + amount
    ibans: dict[str, set] = {}
    for iban, cooperative in session.execute(
            select(PayerAccount.iban, PayerAccount.cooperative).where(PayerAccount.department == department)):
        ibans.setdefault(cooperative, set()).add(iban)
    open_dues = [domain.OpenDue(
        cooperative=d.cooperative, year=d.year, name=d.cooperative_name, town=d.cooperative_town,
        balance=domain.balance(d.amount_due, paid.get((d.cooperative, d.year), Decimal(0))),
        registration_code=d.registration_code, ibans=frozenset(ibans.get(d.cooperative, ())),
    ) for d in dues]
    closed = [domain.ClosedSlip(s.id, s.number, slips.total_of(session, s)) for s in session.scalars(
        select(ChequeSlip).where(ChequeSlip.department == department, ChequeSlip.status == "closed"))]
    return domain.Matcher(open_dues, closed)


def _locked_line(session, principal, line_id) -> StatementLine:
    line = session.scalars(select(StatementLine).where(StatementLine.id == line_id).with_for_update()).first()
    if line is None:
        raise ApiError(404, "Ligne de relevé introuvable.")
    _same_department(principal, line.department)
    if line.status == CONFIRMED:
        raise ApiError(409, "Cette ligne est déjà confirmée.")
    if line.amount <= 0:
        raise ApiError(409, "Un débit ne paie pas une adhésion.")
    return line


def confirm_line(principal: Principal, line_id: int, allocations: list[dict] | None = None,
                 slip_id: int | None = None) -> dict:
    """Staff confirm what a credit pays: each allocation records a transfer received on
    the booking date (through ``record_payment``), or the credit banks a cheque slip."""
    with _database().session() as session:
        line = _locked_line(session, principal, line_id)
        _confirm(session, principal, line, allocations, slip_id)
        answer = _line_answer(session, line, None)
    after_commit_publish()
    return answer


def _confirm(session, principal, line: StatementLine, allocations, slip_id) -> None:
    if slip_id is not None:
        slip = session.scalars(select(ChequeSlip).where(ChequeSlip.id == slip_id).with_for_update()).first()
        if slip is None:
            raise ApiError(422, "Bordereau inconnu.", {"slip": ["Bordereau inconnu."]})
        _same_department(principal, slip.department)
        if slip.status != "closed":
            raise ApiError(409, "Seul un bordereau clos, pas encore crédité, peut être rapproché.")
        total = slips.total_of(session, slip)
        if total != line.amount:
            raise ApiError(422, "Le total du bordereau ne correspond pas au montant de la ligne.",
                           {"slip": [f"Total du bordereau {total}, ligne {line.amount}."]})
        slip.status, slip.banked_line_id = "banked", line.id
        line.slip_id = slip.id
    else:
        total = domain.allocations_total(allocations)
        if total != line.amount:
            raise ApiError(422, "La répartition ne correspond pas au montant de la ligne.",
                           {"allocations": [f"Total réparti {total}, montant de la ligne {line.amount}."]})
        unknown = {str(i): {"cooperative": ["Aucune adhésion saisie pour cette coopérative et cette année."]}
                   for i, a in enumerate(allocations) if find_due(session, a["cooperative"], a["year"]) is None}
        if unknown:
            raise ApiError(422, "La répartition vise une adhésion qui n'a pas été saisie.", {"allocations": unknown})
        for allocation in allocations:
            record_payment(principal, allocation["cooperative"], allocation["year"], Decimal(allocation["amount"]),
                           "transfer", line.bank_ref or line.label, line.booked_on, session=session,
                           statement_line_id=line.id)
            if line.payer_iban:
                _remember_iban(session, line.department, line.payer_iban, allocation["cooperative"])
    line.status, line.decided_by, line.decided_at = CONFIRMED, principal.login, _now()


def _remember_iban(session, department, iban, cooperative) -> None:
    exists = session.scalars(select(PayerAccount.id).where(
        PayerAccount.department == department, PayerAccount.iban == iban,
        PayerAccount.cooperative == cooperative)).first()
    if exists is None:
        session.add(PayerAccount(department=department, iban=iban, cooperative=cooperative))
        session.flush()


def confirm_suggested(principal: Principal, statement_id: int, min_score: Decimal = domain.CONFIDENT) -> dict:
    """One click: confirm the best suggestion of every line scoring at least ``min_score``.
    A cooperative two credits point at is paid once; the other line waits for staff."""
    confirmed, skipped = 0, 0
    with _database().session() as session:
        statement = _statement(session, principal, statement_id)
        matcher = _matcher(session, principal.department)
        lines = list(session.scalars(select(StatementLine).where(
            StatementLine.statement_id == statement.id, StatementLine.status.in_((SUGGESTED, UNMATCHED)),
            StatementLine.amount > 0).order_by(StatementLine.id).with_for_update()))
        taken: set = set()
        for line in lines:
            suggestions = matcher.suggest(_credit(line))
            if not suggestions or not domain.confident(suggestions[0], min_score):
                continue
            best = suggestions[0]
            if "slip" in best:
                keys = {("slip", best["slip"])}
                allocations, slip_id = None, best["slip"]
            else:
                allocations, slip_id = domain.allocations_of(best), None
                keys = {(a["cooperative"], a["year"]) for a in allocations}
            if keys & taken:
                skipped += 1
                continue
            taken |= keys
            _confirm(session, principal, line, allocations, slip_id)
            confirmed += 1
    after_commit_publish()
    return {"confirmed": confirmed, "skipped": skipped}


def set_aside(principal: Principal, line_id: int, aside: bool = True) -> dict:
    """Leave a line aside (``ignored``) or bring it back to the lines to match."""
    with _database().session() as session:
        line = _locked_line(session, principal, line_id)
        line.status = IGNORED if aside else UNMATCHED
        line.decided_by, line.decided_at = principal.login, _now()
        return _line_answer(session, line, _matcher(session, principal.department) if not aside else None)


# --- Cheque remittance slips -------------------------------------------------------------

def open_slip(principal: Principal, account: str | None = None) -> ChequeSlip:
    for attempt in range(5):  # two staff opening a slip at once: the second takes the next number
        try:
            with _database().session() as session:
                if account is None:
                    account = session.scalars(select(Statement.account).where(
                        Statement.department == principal.department, Statement.account != "")
                        .order_by(Statement.id.desc())).first() or ""
                slip = ChequeSlip(department=principal.department, number=slips.next_number(
                    session, principal.department, date.today()), account=account, status="open",
                    created_by=principal.login, created_at=_now())
                session.add(slip)
                session.flush()
                return slip
        except IntegrityError:
            if attempt == 4:
                raise


def list_slips(principal: Principal) -> list[dict]:
    with _database().session() as session:
        return [slips.summary(session, s) for s in session.scalars(
            select(ChequeSlip).where(ChequeSlip.department == principal.department).order_by(ChequeSlip.id.desc()))]


def get_slip(principal: Principal, slip_id: int) -> dict:
    with _database().session() as session:
        slip = _slip(session, principal, slip_id)
        return slips.summary(session, slip, with_cheques=True)


def _slip(session, principal, slip_id, lock=False) -> ChequeSlip:
    query = select(ChequeSlip).where(ChequeSlip.id == slip_id)
    slip = session.scalars(query.with_for_update() if lock else query).first()
    if slip is None:
        raise ApiError(404, "Bordereau introuvable.")
    _same_department(principal, slip.department)
    return slip


def add_cheque(principal: Principal, slip_id: int, cheque: dict) -> dict:
    """A cheque joins an open slip and its payment is recorded at once."""
    with _database().session() as session:
        slip = _slip(session, principal, slip_id, lock=True)
        if slip.status != "open":
            raise ApiError(409, "Ce bordereau est clos : ouvrez-en un nouveau.")
        recorded = record_payment(principal, cheque["cooperative"], cheque["year"], cheque["amount"], "cheque",
                                  cheque["cheque_number"], date.today(), session=session)
        row = Cheque(slip_id=slip.id, payment_id=recorded["payment"].id, cooperative=cheque["cooperative"],
                     year=cheque["year"], amount=cheque["amount"], cheque_number=cheque["cheque_number"],
                     bank=cheque.get("bank") or "", drawer=cheque.get("drawer") or "")
        session.add(row)
        session.flush()
        answer = {"id": row.id, "slip": slip.id, "payment": recorded["payment"].id, "dues": recorded["dues"],
                  **{k: getattr(row, k) for k in ("cooperative", "year", "amount", "cheque_number", "bank", "drawer")}}
    after_commit_publish()
    return answer


def close_slip(principal: Principal, slip_id: int) -> dict:
    with _database().session() as session:
        slip = _slip(session, principal, slip_id, lock=True)
        if slip.status != "open":
            raise ApiError(409, "Ce bordereau est déjà clos.")
        if not slips.cheques_of(session, slip):
            raise ApiError(409, "Un bordereau sans chèque ne se clôt pas.")
        slip.status, slip.closed_at = "closed", _now()
        return slips.summary(session, slip)


def slip_pdf(principal: Principal, slip_id: int) -> tuple[str, bytes]:
    with _database().session() as session:
        slip = _slip(session, principal, slip_id)
        if slip.status == "open":
            raise ApiError(409, "Clôturez le bordereau avant de l'imprimer.")
        return f"bordereau-{slip.number}.pdf", slips.render_pdf(session, slip)
