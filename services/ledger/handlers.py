"""The events the ledger service consumes."""
import logging

from sqlalchemy.exc import IntegrityError

from contracts import adhesion as adhesion_events
from services.ledger import service as ledger
from services.ledger.models import ProcessedEvent
from shared.consumer import consumer

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
