"""The payment service's use cases for dues and payments: one function per step, the
service context first, plain data in, what happened out. Statements and their matching
are in ``reconciliation.py``, cheque slips in ``slips.py``; both record their payments
through ``record`` here, inside their own transaction."""
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.payment import domain, events
from services.payment.dues import dues_state, find_due, payments_of
from services.payment.models import Due, Payment
from shared.auth import Principal, ensure_access, ensure_own_cooperative
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.service import ServiceContext, service


def ensure_department(principal: Principal, department: str) -> None:
    """Staff see only the rows of their own department."""
    if principal.department != department:
        raise Forbidden("Cette donnée relève d'un autre département.")


def dues_of(ctx: ServiceContext, principal: Principal, number: str, year: str) -> dict:
    """Amount due, paid, balance, status and the payment reference. A school asking about
    another cooperative is refused before anything is looked up."""
    ensure_own_cooperative(principal, number)
    with ctx.database.session() as session:
        due = find_due(session, number, year)
        if due is None:
            raise NotFound(f"Aucune adhésion {year} saisie pour la coopérative {number}.")
        ensure_access(principal, due.cooperative, due.department)
        return dues_state(session, due).answer()


def received_payments(ctx: ServiceContext, principal: Principal, number: str, year: str) -> list[domain.Received]:
    """The payments the school made, net of reversals, oldest first: what its cahier de
    comptes writes, one line each (owner or staff)."""
    ensure_own_cooperative(principal, number)
    with ctx.database.session() as session:
        due = find_due(session, number, year)
        if due is None:
            raise NotFound(f"Aucune adhésion {year} saisie pour la coopérative {number}.")
        ensure_access(principal, due.cooperative, due.department)
        return domain.net_received(domain.Received(p.id, p.amount, p.method, p.reference, p.received_on,
                                                   p.reverses_id) for p in payments_of(session, number, year))


def record_payment(ctx: ServiceContext, principal: Principal, cooperative: str, year: str, amount: Decimal,
                   method: str, reference: str, received_on: date) -> dict:
    """Record a payment received; the new dues state goes out as ``payment.received``."""
    with ctx.database.session() as session:
        answer = record(session, principal, cooperative, year, amount, method, reference, received_on)
    ctx.publish()
    return answer


def record(session: Session, principal: Principal, cooperative: str, year: str, amount: Decimal, method: str,
           reference: str, received_on: date, statement_line_id: int | None = None) -> dict:
    """``record_payment`` inside a larger step's transaction (a statement line, a cheque):
    the caller commits and publishes."""
    due = find_due(session, cooperative, year, lock=True)
    if due is None:
        raise Conflict(
            f"L'adhésion {cooperative} {year} n'a pas encore été saisie : le montant dû n'est pas connu.",
            {"cooperative": ["Aucune adhésion saisie pour cette coopérative et cette année."]},
        )
    ensure_access(principal, due.cooperative, due.department)
    payment = Payment(
        cooperative=cooperative, year=year, department=due.department, amount=amount, method=method,
        reference=(reference or "").strip()[:100], received_on=received_on, recorded_by=principal.login,
        created_at=datetime.now(timezone.utc), statement_line_id=statement_line_id, reason="",
    )
    session.add(payment)
    session.flush()
    state = dues_state(session, due)
    events.received(session, state)
    service().audit(session, "payment.recorded", cooperative, {"payment": payment.id, "year": year, "amount": amount, "method": method, "statement_line": statement_line_id, "paid": {"before": state.amount_paid - amount, "after": state.amount_paid}}, department=due.department)
    return {"payment": payment, "dues": state.answer()}


def list_payments(ctx: ServiceContext, principal: Principal, cooperative: str | None = None,
                  year: str | None = None) -> list[Payment]:
    query = select(Payment).where(Payment.department == principal.department)
    if cooperative:
        query = query.where(Payment.cooperative == cooperative)
    if year:
        query = query.where(Payment.year == year)
    with ctx.database.session() as session:
        if cooperative:  # another department's cooperative: refused, not an empty list
            department = session.scalar(select(Due.department).where(Due.cooperative == cooperative).limit(1))
            if department is not None:
                ensure_access(principal, cooperative, department)
        return list(session.scalars(query.order_by(Payment.received_on, Payment.id)))


def reverse_payment(ctx: ServiceContext, principal: Principal, payment_id: int, reason: str,
                    amount: Decimal | None = None) -> dict:
    """Cancel a payment typed wrong, a cheque returned unpaid or refund an overpayment: a
    negative payment with its reason, who and when; the original row stays."""
    with ctx.database.session() as session:
        original = session.get(Payment, payment_id)
        if original is None:
            raise NotFound("Paiement introuvable.")
        ensure_department(principal, original.department)
        answer = reverse(session, principal, original, reason, amount)
        reversal, paid_after = answer["payment"], answer["dues"]["amount_paid"]
        due = find_due(session, original.cooperative, original.year)
        events.reversed_by_staff(session, due, reversal, original, dues_state(session, due))
        ctx.audit(session, "payment.reversed", original.cooperative,
                  {"payment": reversal.id, "reverses": original.id, "year": original.year, "amount": reversal.amount,
                   "paid": {"before": paid_after - reversal.amount, "after": paid_after}},
                  department=original.department)
    ctx.publish()
    return answer


def reverse(session: Session, principal: Principal, original: Payment, reason: str,
            amount: Decimal | None = None, on: date | None = None) -> dict:
    """``reverse_payment`` inside a larger step's transaction (a direct debit returned by
    the bank): the caller commits and publishes."""
    due = find_due(session, original.cooperative, original.year, lock=True)
    if original.reverses_id is not None or original.amount <= 0:
        raise Conflict("Une annulation ne s'annule pas : enregistrez un nouveau paiement.")
    already = -sum((p.amount for p in session.scalars(
        select(Payment).where(Payment.reverses_id == original.id))), Decimal(0))
    left = original.amount - already
    amount = left if amount is None else amount
    if left <= 0:
        raise Conflict("Ce paiement est déjà entièrement annulé.")
    if amount > left:
        raise Invalid("Le montant annulé dépasse ce qui reste du paiement.",
                      {"amount": [f"Au plus {left} (montant du paiement non encore annulé)."]})
    reversal = Payment(
        cooperative=original.cooperative, year=original.year, department=original.department,
        amount=-amount, method=original.method, reference=f"Annulation du paiement n°{original.id}",
        received_on=on or date.today(), recorded_by=principal.login, created_at=datetime.now(timezone.utc),
        reverses_id=original.id, reason=reason,
    )
    session.add(reversal)
    session.flush()
    state = dues_state(session, due)
    events.received(session, state)
    return {"payment": reversal, "dues": state.answer()}
