"""Transactional outbox: the event row is written in the business transaction; a relay
publishes pending rows right after commit (``Relay.poke``) and on a periodic sweep, so a
broker outage delays events but never loses them. Consumers are idempotent, so a row
published twice after a crash between send and mark is harmless.
"""
import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import DateTime, Integer, String, Text, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.events import Contract, Event, queue_of, subscribers

log = logging.getLogger(__name__)


class OutboxRowMixin:
    """Columns of a service's ``outbox`` table."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


def record(session: Session, model, contract: Contract, data: dict) -> Event:
    """Add an event, built with its contract, to the outbox inside the caller's transaction."""
    event = contract.build(data)
    session.add(
        model(
            event_id=event.event_id,
            type=event.type,
            payload=json.dumps(event.to_dict()),
            occurred_at=datetime.fromisoformat(event.occurred_at),
            attempts=0,
        )
    )
    return event


class Relay:
    """Publishes a service's pending outbox rows to the broker."""

    # Published rows are kept a while for inquiries, then deleted: September would
    # otherwise grow the table without end.
    RETENTION = timedelta(days=30)
    PRUNE_EVERY_SECONDS = 3600

    def __init__(self, database, model, celery_app, sweep_seconds: float = 5.0, batch: int = 100):
        self.database = database
        self.model = model
        self.celery = celery_app
        self.sweep_seconds = sweep_seconds
        self.batch = batch
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pruned_at = 0.0

    def publish_pending(self) -> int:
        """Publish what is pending; returns how many rows were published."""
        published = 0
        while True:
            count = self._publish_batch()
            published += count
            if count < self.batch:
                return published

    def _publish_batch(self) -> int:
        with self.database.session() as session:
            query = (
                select(self.model)
                .where(self.model.published_at.is_(None))
                .order_by(self.model.id)
                .limit(self.batch)
            )
            if self.database.is_postgresql:
                query = query.with_for_update(skip_locked=True)
            rows = session.scalars(query).all()
            done = 0
            for row in rows:
                envelope = json.loads(row.payload)
                try:
                    for task_name in subscribers().get(row.type, ()):
                        self.celery.send_task(task_name, args=[envelope], queue=queue_of(task_name), retry=False)
                except Exception as exc:  # broker unreachable: keep the row, the sweep retries
                    row.attempts += 1
                    log.warning("outbox %s: broker unavailable (%s); will retry", row.event_id, exc)
                    return done
                row.published_at = datetime.now(timezone.utc)
                row.attempts += 1
                session.flush()
                done += 1
            return done

    def prune(self, now: datetime | None = None) -> int:
        """Delete rows published longer ago than RETENTION; returns how many."""
        cutoff = (now or datetime.now(timezone.utc)) - self.RETENTION
        with self.database.session() as session:
            result = session.execute(
                delete(self.model).where(self.model.published_at.is_not(None), self.model.published_at < cutoff)
            )
            return result.rowcount or 0

    def poke(self) -> None:
        """Ask the relay thread to publish now (called right after a commit)."""
        self.start()
        self._wake.set()

    def start(self) -> None:
        if self._stopped.is_set():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name=f"outbox-relay-{self.database.service}", daemon=True
                )
                self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self.sweep_seconds)
            self._wake.clear()
            if self._stopped.is_set():
                return
            try:
                self.publish_pending()
                if time.monotonic() - self._pruned_at > self.PRUNE_EVERY_SECONDS:
                    self._pruned_at = time.monotonic()
                    self.prune()
            except Exception:  # a database hiccup must not kill the relay thread
                log.exception("outbox relay sweep failed")
