"""The events the payment service writes to its outbox, with the data consumers need
(no consumer reads this service's tables)."""
from sqlalchemy.orm import Session

from services.payment.models import OutboxEvent
from services.payment.views import DuesState
from shared import outbox


def received(session: Session, state: DuesState) -> None:
    """``payment.received``: the state after this payment; consumers keep the highest count."""
    outbox.record(session, OutboxEvent, "payment.received", {
        "cooperative": state.cooperative,
        "year": state.year,
        "department": state.department,
        "amount_paid": str(state.amount_paid),
        "amount_due": str(state.amount_due),
        "payments_count": state.payments_count,
        "methods": state.methods,
        "status": state.status,
    })
