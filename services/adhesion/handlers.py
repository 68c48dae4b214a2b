"""Celery tasks the adhesion service consumes."""
from datetime import date, datetime, timezone
from decimal import Decimal

from celery import shared_task
from sqlalchemy.exc import OperationalError

from contracts import payment as payment_events
from services.adhesion import campaign
from services.adhesion import service as use_cases
from services.adhesion.models import ProcessedEvent
from shared.consumer import consume_once
from shared.service import service

RETRY = dict(autoretry_for=(OperationalError,), retry_backoff=1, retry_backoff_max=60, retry_jitter=True, max_retries=None)


@shared_task(name="adhesion.on_payment_received", **RETRY)
def on_payment_received(envelope: dict) -> bool:
    """Checklist item 1: keep the total paid, newest payment state wins."""

    def apply(session, event):
        data = event.data
        received_on = data.get("last_received_on")
        use_cases.record_payment_state(session, data["cooperative"], data["year"], Decimal(data["amount_paid"]),
                                     data["payments_count"], data["methods"],
                                     date.fromisoformat(received_on) if received_on else None)

    event = payment_events.RECEIVED.load(envelope)
    return consume_once(service().database, ProcessedEvent, "adhesion.on_payment_received", event, apply)


@shared_task(name="adhesion.send_scheduled_reminders", **RETRY)
def send_scheduled_reminders() -> int:
    """Celery beat's tick: send every reminder round whose date has come, once."""
    return len(campaign.send_due_rounds(service(), campaign.local_day(datetime.now(timezone.utc))))


SUBSCRIPTIONS = {payment_events.RECEIVED: on_payment_received}
