"""Celery tasks the adhesion service consumes."""
from decimal import Decimal

from celery import shared_task
from sqlalchemy.exc import OperationalError

from contracts import payment as payment_events
from services.adhesion.models import ProcessedEvent
from services.adhesion.views import find_adhesion
from shared.consumer import consume_once
from shared.service import service

RETRY = dict(autoretry_for=(OperationalError,), retry_backoff=1, retry_backoff_max=60, retry_jitter=True, max_retries=None)


@shared_task(name="adhesion.on_payment_received", **RETRY)
def on_payment_received(envelope: dict) -> bool:
    """Checklist item 1: keep the total paid, newest payment state wins."""

    def apply(session, event):
        data = event.data
        adhesion = find_adhesion(session, data["cooperative"], data["year"], lock=True)
        if adhesion is None or data["payments_count"] <= adhesion.payments_seen:
            return  # an older state arriving late changes nothing
        adhesion.amount_paid = Decimal(data["amount_paid"])
        adhesion.payments_seen = data["payments_count"]
        adhesion.payment_methods = ",".join(data.get("methods", []))

    event = payment_events.RECEIVED.load(envelope)
    return consume_once(service().database, ProcessedEvent, "adhesion.on_payment_received", event, apply)


SUBSCRIPTIONS = {payment_events.RECEIVED: on_payment_received}
