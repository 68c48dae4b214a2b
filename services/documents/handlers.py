"""Celery tasks the documents service consumes."""
import logging
import os
import time

from celery import shared_task
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from contracts import adhesion as adhesion_events
from services.documents import domain, issuing
from services.documents.models import ProcessedEvent
from services.documents.storage import current_storage
from shared.consumer import consume_once
from shared.service import service

log = logging.getLogger(__name__)

CONSUMER = "documents.on_adhesion_validated"


def renderer(kind: str):
    """The PDF drawing of ``kind``. Imported here, not with the module: the web process
    serves the documents API without ever drawing one (xhtml2pdf and the fonts cost
    ~0.45 s of every start); the documents worker loads it before forking its pool."""
    from services.documents import rendering

    return {domain.ATTESTATION: rendering.render_attestation, domain.CERTIFICATE: rendering.render_certificate}[kind]


# Transient failures (database unreachable, disk full) are retried with backoff; a task
# killed mid-run is re-delivered by acks_late and runs again from the start.
RETRY = dict(autoretry_for=(OperationalError, OSError), retry_backoff=1, retry_backoff_max=60,
             retry_jitter=True, max_retries=None)

try:
    from zoneinfo import ZoneInfo

    FRANCE = ZoneInfo("Europe/Paris")
except Exception:  # no time zone database in the image: print the UTC day
    FRANCE = None


def render_delay() -> float:
    """DOCUMENTS_RENDER_DELAY_SECONDS: a real pause before rendering, for crash tests."""
    return float(os.environ.get("DOCUMENTS_RENDER_DELAY_SECONDS") or 0)


@shared_task(name=CONSUMER, **RETRY)
def on_adhesion_validated(envelope: dict) -> bool:
    """Render, store and publish the documents of a validation, exactly once."""
    started = time.perf_counter()
    context = service()
    event = adhesion_events.VALIDATED.load(envelope)
    data = event.data
    if already_processed(context.database, event.event_id):
        return False
    with context.database.session() as session:  # short: numbers and tokens only
        reserved = issuing.reserve(session, data) or []
        done = all(row.generated_at is not None for row in reserved)
        plan = [(row.kind, row.number, row.verify_token, row.storage_key) for row in reserved]
    if done:  # a newer version exists, or this one was printed under another event id
        return consume_once(context.database, ProcessedEvent, CONSUMER, event, lambda s, e: None)

    log.info("documents %s %s v%s: %s reserved, rendering", data["cooperative"]["number"], data["year"],
             data["version"], ", ".join(number for _, number, _, _ in plan))
    delay = render_delay()
    if delay:
        time.sleep(delay)
    rendering_started = time.perf_counter()
    day = domain.issued_on(data["validated_at"], FRANCE)
    storage = current_storage()
    pdfs = {}
    for kind, number, token, key in plan:
        verify_url = f"{context.settings.public_base_url}/verify/{token}"
        pdfs[kind] = renderer(kind)(domain.render_input(data, kind, number, verify_url, day))
        storage.put(key, pdfs[kind])  # same key on a re-run: the same file, overwritten
    rendered_ms = (time.perf_counter() - rendering_started) * 1000

    published = []
    applied = consume_once(
        context.database, ProcessedEvent, CONSUMER, event,
        lambda session, _: published.append(issuing.complete(session, data, pdfs)),
    )
    if applied and any(published):
        publish_now(context)
    log.info(
        "documents %s %s v%s: %d PDF rendered and stored in %.0f ms, handled in %.0f ms%s",
        data["cooperative"]["number"], data["year"], data["version"], len(pdfs), rendered_ms,
        (time.perf_counter() - started) * 1000 - delay * 1000, "" if applied else " (already done)",
    )
    return applied


SUBSCRIPTIONS = {adhesion_events.VALIDATED: on_adhesion_validated}


def already_processed(database, event_id: str) -> bool:
    with database.session() as session:
        return session.scalar(
            select(ProcessedEvent.event_id).where(ProcessedEvent.event_id == event_id, ProcessedEvent.consumer == CONSUMER)
        ) is not None


def publish_now(context) -> None:
    """Send documents.generated right away; the relay's sweep retries what fails here."""
    relay = context.relay
    try:
        relay.publish_pending()
    except Exception:  # the rows stay in the outbox; the sweep publishes them later
        log.warning("documents.generated kept in the outbox for the sweep", exc_info=True)
    relay.start()
