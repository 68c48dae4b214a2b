"""The reconciliation use cases: import a bank statement, see its lines with what each
credit may pay, confirm (one line, or every confident one at once) or set a line aside.
Nothing is recorded until staff confirm; each allocation confirmed is a payment recorded
through ``service.record``."""
import json
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from banking.statements import clean_text
from services.payment import domain, sepa_bank, slips
from services.payment.dues import find_due
from services.payment.models import ChequeSlip, Due, PayerAccount, Payment, Statement, StatementLine
from services.payment.service import ensure_department, record
from shared.auth import Principal
from shared.errors import Conflict, Invalid, NotFound
from shared.service import ServiceContext, service
from shared.statement_file import read_statement_file

CONFIRMED, SUGGESTED, UNMATCHED, IGNORED = "confirmed", "suggested", "unmatched", "ignored"


def import_statement(ctx: ServiceContext, principal: Principal, data: bytes, filename: str = "") -> dict:
    """Read a statement file and store its new lines with their suggestions; a file that
    cannot be read is refused whole (nothing stored)."""
    parsed = read_statement_file(data)
    try:
        with ctx.database.session() as session:
            answer = _store_statement(session, principal, parsed, filename)
            ctx.audit(session, "statement.imported", f"releve:{answer['id']}", {"statement": answer["id"], "format": answer["format"], "lines": answer["lines"], "new_lines": answer["new_lines"]})
        ctx.publish()
        return answer
    except IntegrityError:  # the same lines stored meanwhile by another import: nothing of this one kept
        raise Conflict("Ce relevé est en cours d'import par ailleurs : réessayez dans un instant.")


def _store_statement(session: Session, principal: Principal, parsed, filename: str) -> dict:
    department = principal.department
    known = set()
    prints = parsed.fingerprints
    for start in range(0, len(prints), 500):
        known.update(session.scalars(select(StatementLine.fingerprint).where(
            StatementLine.department == department,
            StatementLine.fingerprint.in_(prints[start:start + 500]))))
    statement = Statement(
        department=department, format=parsed.format, layout=parsed.layout, filename=clean_text(filename or "")[:200],
        account=parsed.account[:64], lines_read=len(parsed.lines), new_lines=0, duplicates=0,
        imported_by=principal.login, imported_at=datetime.now(timezone.utc),
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
            bank_tx_code=line.bank_tx_code[:20], return_reason=line.return_reason[:4],
            end_to_end_id=line.end_to_end_id[:35], mandate_id=line.mandate_id[:35],
            status=IGNORED if line.amount <= 0 else (SUGGESTED if suggestions else UNMATCHED),
            suggestions=json.dumps(suggestions, default=str), decided_by="",
        ))
    if rows:
        session.execute(insert(StatementLine), rows)
    statement.new_lines = len(rows)
    statement.duplicates = len(parsed.lines) - len(rows)
    # direct debits: the batches' credits and the bank's returns, without waiting for staff
    sepa_bank.recognise(session, principal, statement.id)
    return _statement_answer(statement)


def _statement_answer(statement: Statement) -> dict:
    return {"id": statement.id, "format": statement.format, "layout": statement.layout,
            "filename": statement.filename, "account": statement.account, "lines": statement.lines_read,
            "new_lines": statement.new_lines, "duplicates": statement.duplicates,
            "imported_at": statement.imported_at, "imported_by": statement.imported_by}


def list_statements(ctx: ServiceContext, principal: Principal) -> list[dict]:
    with ctx.database.session() as session:
        statements = session.scalars(select(Statement).where(Statement.department == principal.department)
                                     .order_by(Statement.id.desc()))
        counts = dict(session.execute(
            select(StatementLine.statement_id, func.count()).where(
                StatementLine.department == principal.department, StatementLine.status == CONFIRMED)
            .group_by(StatementLine.statement_id)).all())
        return [{**_statement_answer(s), "confirmed": counts.get(s.id, 0)} for s in statements]


def statement_lines(ctx: ServiceContext, principal: Principal, statement_id: int) -> list[dict]:
    """Every line of a statement, suggestions worked out again against today's dues."""
    with ctx.database.session() as session:
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


def _statement(session: Session, principal: Principal, statement_id: int) -> Statement:
    statement = session.get(Statement, statement_id)
    if statement is None:
        raise NotFound("Relevé introuvable.")
    ensure_department(principal, statement.department)
    return statement


def _line_answer(session: Session, line: StatementLine, matcher: domain.Matcher | None,
                 payments: dict | None = None, slips_by_id: dict | None = None) -> dict:
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


def _locked_line(session: Session, principal: Principal, line_id: int) -> StatementLine:
    line = session.scalars(select(StatementLine).where(StatementLine.id == line_id).with_for_update()).first()
    if line is None:
        raise NotFound("Ligne de relevé introuvable.")
    ensure_department(principal, line.department)
    if line.status == CONFIRMED:
        raise Conflict("Cette ligne est déjà confirmée.")
    if line.amount <= 0:
        raise Conflict("Un débit ne paie pas une adhésion.")
    return line


def confirm_line(ctx: ServiceContext, principal: Principal, line_id: int, allocations: list[dict] | None = None,
                 slip_id: int | None = None) -> dict:
    """Staff confirm what a credit pays: each allocation records a transfer received on
    the booking date, or the credit banks a cheque slip."""
    with ctx.database.session() as session:
        line = _locked_line(session, principal, line_id)
        _confirm(session, principal, line, allocations, slip_id)
        answer = _line_answer(session, line, None)
    ctx.publish()
    return answer


def _confirm(session: Session, principal: Principal, line: StatementLine, allocations, slip_id) -> None:
    if slip_id is not None:
        _bank_slip(session, principal, line, slip_id)
    else:
        total = domain.allocations_total(allocations)
        if total != line.amount:
            raise Invalid("La répartition ne correspond pas au montant de la ligne.",
                          {"allocations": [f"Total réparti {total}, montant de la ligne {line.amount}."]})
        unknown = {str(i): {"cooperative": ["Aucune adhésion saisie pour cette coopérative et cette année."]}
                   for i, a in enumerate(allocations) if find_due(session, a["cooperative"], a["year"]) is None}
        if unknown:
            raise Invalid("La répartition vise une adhésion qui n'a pas été saisie.", {"allocations": unknown})
        for allocation in allocations:
            record(session, principal, allocation["cooperative"], allocation["year"], Decimal(allocation["amount"]),
                   "transfer", line.bank_ref or line.label, line.booked_on, statement_line_id=line.id)
            if line.payer_iban:
                _remember_iban(session, line.department, line.payer_iban, allocation["cooperative"])
    line.status, line.decided_by, line.decided_at = CONFIRMED, principal.login, datetime.now(timezone.utc)
    service().audit(session, "statement_line.confirmed", f"releve:{line.statement_id}", {"line": line.id, "amount": line.amount, "slip": slip_id})


def _bank_slip(session: Session, principal: Principal, line: StatementLine, slip_id: int) -> None:
    """The credit is the bank paying in a closed cheque slip: the slip becomes ``banked``."""
    slip = session.scalars(select(ChequeSlip).where(ChequeSlip.id == slip_id).with_for_update()).first()
    if slip is None:
        raise Invalid("Bordereau inconnu.", {"slip": ["Bordereau inconnu."]})
    ensure_department(principal, slip.department)
    if slip.status != "closed":
        raise Conflict("Seul un bordereau clos, pas encore crédité, peut être rapproché.")
    total = slips.total_of(session, slip)
    if total != line.amount:
        raise Invalid("Le total du bordereau ne correspond pas au montant de la ligne.",
                      {"slip": [f"Total du bordereau {total}, ligne {line.amount}."]})
    slip.status, slip.banked_line_id = "banked", line.id
    line.slip_id = slip.id


def _remember_iban(session: Session, department: str, iban: str, cooperative: str) -> None:
    exists = session.scalars(select(PayerAccount.id).where(
        PayerAccount.department == department, PayerAccount.iban == iban,
        PayerAccount.cooperative == cooperative)).first()
    if exists is None:
        session.add(PayerAccount(department=department, iban=iban, cooperative=cooperative))
        session.flush()


def confirm_suggested(ctx: ServiceContext, principal: Principal, statement_id: int,
                      min_score: Decimal = domain.CONFIDENT) -> dict:
    """One click: confirm the best suggestion of every line scoring at least ``min_score``.
    A cooperative two credits point at is paid once; the other line waits for staff."""
    confirmed, skipped = 0, 0
    with ctx.database.session() as session:
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
    ctx.publish()
    return {"confirmed": confirmed, "skipped": skipped}


def set_aside(ctx: ServiceContext, principal: Principal, line_id: int, aside: bool = True) -> dict:
    """Leave a line aside (``ignored``) or bring it back to the lines to match."""
    with ctx.database.session() as session:
        line = _locked_line(session, principal, line_id)
        ctx.audit(session, "statement_line.set_aside" if aside else "statement_line.brought_back", f"releve:{line.statement_id}", {"line": line.id, "status": {"before": line.status, "after": IGNORED if aside else UNMATCHED}})
        line.status = IGNORED if aside else UNMATCHED
        line.decided_by, line.decided_at = principal.login, datetime.now(timezone.utc)
        return _line_answer(session, line, _matcher(session, principal.department) if not aside else None)
