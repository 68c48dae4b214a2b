"""The events the payment service writes to its outbox, with the data consumers need
(no consumer reads this service's tables)."""
from sqlalchemy.orm import Session

from contracts import payment as contracts
from services.payment.dues import DuesState, payments_of
from services.payment.models import OutboxEvent
from shared import outbox
from shared.money import money_text


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
