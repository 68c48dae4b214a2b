"""The events the adhesion service consumes, and its beat task."""
from datetime import datetime, timezone

from celery import shared_task

from contracts import payment as payment_events
from services.adhesion import campaign, personal_data, reminders
from services.adhesion import service as use_cases
from services.adhesion.models import ProcessedEvent
from shared.consumer import RETRY_POLICY, consumer
from shared.service import service


@consumer(payment_events.RECEIVED, once=ProcessedEvent)
def on_payment_received(session, data: dict) -> None:
    """Checklist item 1: keep the total paid, newest payment state wins."""
    use_cases.record_payment_state(session, data["cooperative"], data["year"], data["amount_paid"],
                                   data["payments_count"], data["methods"], data.get("last_received_on"))


@consumer(payment_events.CREDITOR_CHANGED, once=ProcessedEvent)
def on_creditor_changed(session, data: dict) -> None:
    """The department collects by direct debit: its schools are offered « prélèvement »."""
    use_cases.set_direct_debit_offer(session, data["department"], data["direct_debit"])


@shared_task(name="adhesion.send_scheduled_reminders", **RETRY_POLICY)
def send_scheduled_reminders() -> int:
    """Celery beat's tick: send every reminder round whose date has come, once."""
    return len(reminders.send_due_rounds(service(), campaign.local_day(datetime.now(timezone.utc))))


@shared_task(name="adhesion.apply_retention", **RETRY_POLICY)
def apply_retention() -> int:
    """Celery beat's daily tick: every department's retention, applied by every service."""
    return personal_data.retention_due(service(), campaign.local_day(datetime.now(timezone.utc)))
