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
        upsert_due(session, event.data, event.data["amount_due"])

    event = adhesion_events.SUBMITTED.load(envelope)
    return consume_once(service().database, ProcessedEvent, "payment.on_adhesion_submitted", event, apply)


@shared_task(name="payment.on_adhesion_validated", **RETRY)
def on_adhesion_validated(envelope: dict) -> bool:
    """The registration code becomes known (schools quote it in bank labels); a validated
    adhesion whose payment is later reversed is flagged to staff, never un-validated."""

    def apply(session, event):
        data = event.data
        # Usually the due exists (adhesion.submitted came first); if this event overtook
        # it, the validated adhesion's own amounts make the due, and the older
        # submission arriving later changes nothing (revisions).
        due = upsert_due(session, data, data["amounts"]["total"])
        due.registration_code = data["registration_code"]
        due.validated = True

    event = adhesion_events.VALIDATED.load(envelope)
    return consume_once(service().database, ProcessedEvent, "payment.on_adhesion_validated", event, apply)


def upsert_due(session, data: dict, amount_due: str) -> Due:
    """The due of the adhesion an event describes, created or brought to that event's
    revision (an older revision arriving late changes nothing)."""
    cooperative = data["cooperative"]
    due = find_due(session, cooperative["number"], data["year"], lock=True)
    if due is not None and not domain.is_newer(data["revision"], due.revision):
        return due
    if due is None:
        due = Due(cooperative=cooperative["number"], year=data["year"])
        session.add(due)
    due.department = cooperative.get("department") or data["department"]["code"]
    due.cooperative_name = cooperative.get("name", "")
    due.cooperative_email = cooperative.get("email", "")
    due.cooperative_town = cooperative.get("town", "") or ""
    due.department_name = (data.get("department") or {}).get("name", "") or ""
    due.amount_due = Decimal(amount_due)
    due.revision = data["revision"]
    due.updated_at = datetime.now(timezone.utc)
    return due


SUBSCRIPTIONS = {adhesion_events.SUBMITTED: on_adhesion_submitted, adhesion_events.VALIDATED: on_adhesion_validated}
