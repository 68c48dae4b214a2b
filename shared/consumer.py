"""Idempotent consumers: the event id is recorded under a unique key in the same
transaction as the effect, so a re-delivered event changes nothing."""
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.columns import moment
from shared.events import Event


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
