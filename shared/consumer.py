"""Consumers: one decorator names the task, applies the one retry policy and registers the
subscription; idempotence records the event id under a unique key in the same
transaction as the effect, so a re-delivered event changes nothing."""
import functools
from collections.abc import Callable
from datetime import datetime, timezone

from celery import shared_task
from sqlalchemy import String
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.celery_app import RETRY_BACKOFF_MAX
from shared.columns import moment
from shared.events import Contract, Event, register_subscription

# The one retry policy of every consumer. Outages (database or broker unreachable) are
# retried by ReliableTask whatever a consumer lists; ``retry_for`` adds what a consumer
# knows to be passing (an SMTP 4xx, a race on a natural key). Waits are capped by
# ReliableTask at RETRY_BACKOFF_MAX, below the broker's visibility timeout.
RETRY_POLICY = dict(retry_backoff=1, retry_backoff_max=RETRY_BACKOFF_MAX, retry_jitter=True, max_retries=None)


def consumer(contract: Contract, *, once=None, lane: str | None = None, retry_for: tuple = ()):
    """Make ``handle`` the Celery task consuming ``contract``'s events.

    The task is named ``<service>.<handler>`` (``<lane>.<handler>`` for a lane of its own,
    as ``notify_bulk``), so it runs on its service's queue; the envelope is loaded with
    the contract (typed data) before ``handle`` sees it. With ``once`` (the service's
    processed-events model) ``handle(session, data)`` is the effect, applied by
    ``consume_once`` in one transaction and the task answers True when applied;
    without it ``handle(event)`` runs the use case, which makes its effects idempotent
    itself (several transactions around a slow step)."""

    def register(handle: Callable):
        service_name = handle.__module__.split(".")[-2]
        name = f"{lane or service_name}.{handle.__name__}"

        def run(envelope: dict):
            event = contract.load(envelope)
            if once is None:
                return handle(event)
            from shared.service import service

            return consume_once(service().database, once, name, event,
                                lambda session, loaded: handle(session, loaded.data))

        task = shared_task(name=name, autoretry_for=(OperationalError, *retry_for), **RETRY_POLICY)(
            functools.update_wrapper(run, handle))
        register_subscription(handle.__module__, contract, task)
        return task

    return register


class ProcessedEventMixin:
    """Columns of a service's ``processed_events`` table."""

    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    consumer: Mapped[str] = mapped_column(String(100), primary_key=True)
    processed_at: Mapped[datetime] = moment()


def consume_once(database, model, consumer: str, event: Event, effect: Callable[[Session, Event], None]) -> bool:
    """Apply ``effect`` unless this consumer already applied this event; True when applied."""
    try:
        with database.session() as session:
            session.add(model(event_id=event.event_id, consumer=consumer, processed_at=datetime.now(timezone.utc)))
            session.flush()  # a duplicate fails here (or waits for the first delivery, then fails)
            effect(session, event)
        return True
    except IntegrityError as exc:
        if _is_duplicate_of(exc, model):
            return False
        raise


def _is_duplicate_of(exc: IntegrityError, model) -> bool:
    statement = str(getattr(exc, "statement", "") or "")
    return model.__tablename__ in statement and "INSERT" in statement.upper()
