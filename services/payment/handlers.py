"""Celery tasks the payment service consumes."""
from datetime import datetime, timezone
from decimal import Decimal

from celery import shared_task
from sqlalchemy.exc import IntegrityError, OperationalError

from contracts import adhesion as adhesion_events
from services.payment import domain
from services.payment.models import Due, ProcessedEvent
from services.payment.views import find_due
from shared.consumer import consume_once
from shared.service import service

# IntegrityError: two events of one new cooperative raced to create its due; the retry
# finds the row and compares revisions.
RETRY = dict(
    autoretry_for=(OperationalError, IntegrityError), retry_backoff=1, retry_backoff_max=60, retry_jitter=True,
    max_retries=None,
)


@shared_task(name="payment.on_adhesion_submitted", **RETRY)
def on_adhesion_submitted(envelope: dict) -> bool:
    """The amount due becomes known (or changes): upsert the due, newest revision wins."""

    def apply(session, event):
        data = event.data
        cooperative = data["cooperative"]
        due = find_due(session, cooperative["number"], data["year"], lock=True)
        if due is not None and not domain.is_newer(data["revision"], due.revision):
            return  # an older state arriving late changes nothing
        if due is None:
            due = Due(cooperative=cooperative["number"], year=data["year"])
            session.add(due)
        due.department = cooperative.get("department") or data["department"]["code"]
        due.cooperative_name = cooperative.get("name", "")
        due.cooperative_email = cooperative.get("email", "")
        due.amount_due = Decimal(data["amount_due"])
        due.revision = data["revision"]
        due.updated_at = datetime.now(timezone.utc)

    event = adhesion_events.SUBMITTED.load(envelope)
    return consume_once(service().database, ProcessedEvent, "payment.on_adhesion_submitted", event, apply)


SUBSCRIPTIONS = {adhesion_events.SUBMITTED: on_adhesion_submitted}
