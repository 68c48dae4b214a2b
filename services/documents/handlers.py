"""Celery tasks the documents service consumes."""
from celery import shared_task
from sqlalchemy.exc import OperationalError

from contracts import adhesion as adhesion_events
from services.documents import service as documents
from services.documents.storage import current_storage
from shared.service import service

# Transient failures (database unreachable, disk full) are retried with backoff; a task
# killed mid-run is re-delivered by acks_late and runs again from the start.
RETRY = dict(autoretry_for=(OperationalError, OSError), retry_backoff=1, retry_backoff_max=60,
             retry_jitter=True, max_retries=None)


@shared_task(name=documents.CONSUMER, **RETRY)
def on_adhesion_validated(envelope: dict) -> bool:
    """Render, store and publish the documents of a validation, exactly once."""
    return documents.issue_validated(service(), current_storage(), adhesion_events.VALIDATED.load(envelope))


SUBSCRIPTIONS = {adhesion_events.VALIDATED: on_adhesion_validated}
