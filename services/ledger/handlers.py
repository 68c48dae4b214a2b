"""The events the ledger service consumes."""
import logging
import os
import time

from sqlalchemy.exc import IntegrityError

from contracts import adhesion as adhesion_events
from services.ledger import service as ledger
from services.ledger.models import ProcessedEvent
from shared.consumer import consumer

log = logging.getLogger(__name__)


def consume_delay() -> float:
    """LEDGER_CONSUME_DELAY_SECONDS: a real pause inside the transaction, for crash tests."""
    return float(os.environ.get("LEDGER_CONSUME_DELAY_SECONDS") or 0)


# IntegrityError: two validations of one new cooperative raced to create its proposal; the
# retry finds the row and compares versions.
@consumer(adhesion_events.VALIDATED, once=ProcessedEvent, retry_for=(IntegrityError,))
def on_adhesion_validated(session, data: dict) -> None:
    """Propose the adhesion entry in the school's book, once per event and per cooperative
    and year (consume_once + the proposal's natural key)."""
    log.info("ledger %s %s v%s: proposing the adhesion entry", data["cooperative"]["number"], data["year"],
             data["version"])
    delay = consume_delay()
    if delay:
        time.sleep(delay)
    ledger.propose_adhesion_entry(session, data)
