"""The events the payment service writes to its outbox, with the data consumers need
(no consumer reads this service's tables)."""
import json

from sqlalchemy.orm import Session

from contracts import payment as contracts
from services.payment.dues import DuesState, payments_of
from services.payment.models import Due, OutboxEvent, Payment
from shared import outbox
from shared.money import money_text

# what a due keeps of the department's description (adhesion.submitted): how schools pay it
CONTACT_PARTS = ("sender_name", "address", "phone", "payee", "iban", "bic")


def received(session: Session, state: DuesState) -> None:
    """``payment.received``: the state after this payment; consumers keep the highest count."""
    outbox.record(session, OutboxEvent, contracts.RECEIVED, {
        "cooperative": state.cooperative,
        "year": state.year,
        "department": state.department,
        "amount_paid": money_text(state.amount_paid),
        "amount_due": money_text(state.amount_due),
        "payments_count": state.payments_count,
        "methods": state.methods,
        "status": state.status,
        "last_received_on": max((p.received_on.isoformat() for p in payments_of(session, state.cooperative, state.year)), default=None),
    })


def reversed_by_staff(session: Session, due: Due, reversal: Payment, original: Payment, state: DuesState) -> None:
    """``payment.reversed``: the school is emailed what it still owes and how to pay. Only
    for staff's reversals: a direct debit the bank returned has its own email."""
    contact = json.loads(due.department_contact or "{}")
    outbox.record(session, OutboxEvent, contracts.REVERSED, {
        "cooperative": {"number": due.cooperative, "name": due.cooperative_name, "town": due.cooperative_town,
                        "email": due.cooperative_email, "department": due.department},
        "department": {"code": due.department, "name": due.department_name, "insurer": "", "insurer_contract": None,
                       "email": due.department_email, **{k: v for k, v in contact.items() if k in CONTACT_PARTS}},
        "year": due.year,
        "sequence": reversal.id,
        "amount": money_text(-reversal.amount),
        "method": original.method,
        "received_on": original.received_on.isoformat(),
        "reason": reversal.reason,
        "amount_due": money_text(state.amount_due),
        "amount_paid": money_text(state.amount_paid),
        "balance": money_text(state.balance),
        "reference": state.reference,
    })
