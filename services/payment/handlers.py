"""The events the payment service consumes."""
import json
from datetime import datetime, timezone
from decimal import Decimal

from celery import shared_task
from sqlalchemy.exc import IntegrityError

from contracts import adhesion as adhesion_events
from services.payment import domain, sepa
from services.payment import personal_data as personal
from services.payment.dues import find_due
from services.payment.events import CONTACT_PARTS
from services.payment.models import Due, ProcessedEvent
from shared.consumer import consumer
from shared.service import service


# IntegrityError: two events of one new cooperative raced to create its due; the retry
# finds the row and compares revisions.
@consumer(adhesion_events.SUBMITTED, once=ProcessedEvent, retry_for=(IntegrityError,))
def on_adhesion_submitted(session, data: dict) -> None:
    """The amount due becomes known (or changes): upsert the due, newest revision wins."""
    due = upsert_due(session, data, data["amount_due"])
    if due.revision == data["revision"]:
        due.direct_debit = bool(data["payment"].get("direct_debit"))
    # the collection follows the amount (or is planned, or withdrawn) until its batch is exported
    sepa.plan(session, due.department, service().settings.sepa_notice_days)


@consumer(adhesion_events.VALIDATED, once=ProcessedEvent, retry_for=(IntegrityError,))
def on_adhesion_validated(session, data: dict) -> None:
    """The registration code becomes known (schools quote it in bank labels); a validated
    adhesion whose payment is later reversed is flagged to staff, never un-validated."""
    # Usually the due exists (adhesion.submitted came first); if this event overtook it,
    # the validated adhesion's own amounts make the due, and the older submission
    # arriving later changes nothing (revisions).
    due = upsert_due(session, data, data["amounts"]["total"])
    due.registration_code = data["registration_code"]
    due.validated = True


def upsert_due(session, data: dict, amount_due: Decimal) -> Due:
    """The due of the adhesion an event describes, created or brought to that event's
    revision (an older revision arriving late changes nothing)."""
    cooperative = data["cooperative"]
    due = find_due(session, cooperative["number"], data["year"], lock=True)
    if due is not None and not domain.is_newer(data["revision"], due.revision):
        return due
    if due is None:
        due = Due(cooperative=cooperative["number"], year=data["year"])
        session.add(due)
    due.department = cooperative["department"]
    due.cooperative_name = cooperative["name"]
    due.cooperative_email = cooperative["email"]
    due.cooperative_town = cooperative["town"]
    due.department_name = data["department"]["name"]
    due.department_email = data["department"].get("email") or ""
    due.department_contact = json.dumps({key: data["department"][key] for key in CONTACT_PARTS
                                         if data["department"].get(key)})
    due.amount_due = amount_due
    due.revision = data["revision"]
    due.updated_at = datetime.now(timezone.utc)
    return due



@shared_task(name="payment.expire_mandates")
def expire_mandates() -> int:
    """Beat, daily: mandates unused for 36 months expire (docs/sepa.md)."""
    return sepa.expire_mandates(service())
@consumer(adhesion_events.PERSONAL_DATA_ERASED, once=ProcessedEvent)
def on_personal_data_erased(session, data: dict) -> None:
    """Names and mailboxes of the cooperative's people become « anonymisé » here too."""
    personal.erase(service(), session, data["cooperative"])


@consumer(adhesion_events.RETENTION_DUE, once=ProcessedEvent)
def on_retention_due(session, data: dict) -> None:
    """The daily run: accounting records older than the department's retention go."""
    personal.apply_retention(service(), session, data["department"], data["accounting_years"], data["day"])
