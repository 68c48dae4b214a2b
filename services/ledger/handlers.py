"""The events the ledger service consumes."""
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from celery import shared_task
from sqlalchemy.exc import IntegrityError

from contracts import adhesion as adhesion_events
from services.ledger import personal_data as personal
from services.ledger import service as ledger
from services.ledger.models import ProcessedEvent
from shared.consumer import RETRY_POLICY, consumer
from shared.service import service

log = logging.getLogger(__name__)


# IntegrityError: two validations of one new cooperative raced to create its proposal; the
# retry finds the row and compares versions.
@consumer(adhesion_events.VALIDATED, once=ProcessedEvent, retry_for=(IntegrityError,))
def on_adhesion_validated(session, data: dict) -> None:
    """Propose the adhesion entry in the school's book, once per event and per cooperative
    and year (consume_once + the proposal's natural key)."""
    log.info("ledger %s %s v%s: proposing the adhesion entry", data["cooperative"]["number"], data["year"],
             data["version"])
    ledger.propose_adhesion_entry(session, data)


@shared_task(name="ledger.send_crf_reminders", **RETRY_POLICY)
def send_crf_reminders() -> int:
    """Celery beat's tick: every department's CRF reminder date reached is sent, once."""
    return len(ledger.send_due_crf_rounds(service(), datetime.now(ZoneInfo("Europe/Paris")).date()))


@consumer(adhesion_events.PERSONAL_DATA_ERASED, once=ProcessedEvent)
def on_personal_data_erased(session, data: dict) -> None:
    """Names and mailboxes of the cooperative's people become « anonymisé » here too."""
    personal.erase(service(), session, data["cooperative"])


@consumer(adhesion_events.RETENTION_DUE, once=ProcessedEvent)
def on_retention_due(session, data: dict) -> None:
    """The daily run: accounting records older than the department's retention go."""
    personal.apply_retention(service(), session, data["department"], data["accounting_years"], data["day"])
