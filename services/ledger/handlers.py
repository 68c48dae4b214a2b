"""Celery tasks the ledger service consumes."""
import logging
import os
import time

from celery import shared_task
from sqlalchemy.exc import IntegrityError, OperationalError

from contracts import adhesion as adhesion_events
from services.ledger import service as ledger
from services.ledger.models import ProcessedEvent
from shared.consumer import consume_once
from shared.service import service

log = logging.getLogger(__name__)

CONSUMER = "ledger.on_adhesion_validated"
# IntegrityError: two validations of one new cooperative raced to create its proposal; the
# retry finds the row and compares versions. A killed worker's task is re-delivered
# (acks_late) and, having committed nothing, runs again from the start.
RETRY = dict(autoretry_for=(OperationalError, IntegrityError), retry_backoff=1, retry_backoff_max=60,
             retry_jitter=True, max_retries=None)


def consume_delay() -> float:
    """LEDGER_CONSUME_DELAY_SECONDS: a real pause inside the transaction, for crash tests."""
    return float(os.environ.get("LEDGER_CONSUME_DELAY_SECONDS") or 0)


@shared_task(name=CONSUMER, **RETRY)
def on_adhesion_validated(envelope: dict) -> bool:
    """Propose the adhesion entry in the school's book, once per event and per cooperative
    and year (consume_once + the proposal's natural key)."""

    def apply(session, event):
        data = event.data
        log.info("ledger %s %s v%s: proposing the adhesion entry", data["cooperative"]["number"], data["year"],
                 data.get("version"))
        delay = consume_delay()
        if delay:
            time.sleep(delay)
        ledger.propose_adhesion_entry(session, data)

    event = adhesion_events.VALIDATED.load(envelope)
    return consume_once(service().database, ProcessedEvent, CONSUMER, event, apply)


SUBSCRIPTIONS = {adhesion_events.VALIDATED: on_adhesion_validated}
