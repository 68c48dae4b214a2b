"""Transactional outbox: the event row is written in the business transaction; a relay
publishes pending rows right after commit (``Relay.poke``) and on a periodic sweep, so a
broker outage delays events but never loses them. Consumers are idempotent, so a row
published twice after a crash between send and mark is harmless.

A row marked published is only as safe as the broker that accepted it: a Redis restarted
without its data (no persistence, a failover to an empty replica, an AOF that lost its
last second) has forgotten every queued event and every retry waiting in it; and even
with its data, a message a worker popped just before the restart is lost (kombu pops it
and records it as unacknowledged in two steps), however long ago it was published. The
relay notices the restart (``Relay.check_broker``: a new server ``run_id``) and publishes
again the rows of the last REPUBLISH_WINDOW that the broker no longer holds — consumers
drop what they already applied. ``OUTBOX_REPUBLISH=0`` switches that off (a test proving
that another recovery path delivers alone).

A worker that stopped consuming and is killed for it (shared/liveness.py) may likewise have
popped a message it never recorded (its blocking pop was answered while it stood still):
whoever kills it calls ``request_republish``, which the relays take as a restart.
"""
import base64
import json
import logging
import os
import threading
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import Integer, String, Text, delete, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from shared.broker import kind as broker_kind
from shared.columns import moment, row_id
from shared.errors import is_outage
from shared.events import Contract, Event, queue_of, subscribers

log = logging.getLogger(__name__)


class OutboxRowMixin:
    """Columns of a service's ``outbox`` table."""

    id: Mapped[int] = row_id()
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = moment()
    published_at: Mapped[datetime | None] = moment(index=True)
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


# Bumped by ``request_republish``: the relays compare (run_id, epoch), so a bump is a restart to them.
EPOCH_KEY = "retkoop:broker-epoch"


def request_republish(broker_url: str) -> None:
    """Ask the relays to publish again what the broker does not hold (a stuck worker was
    killed: what it had popped without recording it is gone). Redis only: RabbitMQ gives
    a killed consumer's unacknowledged messages back, and the embedded broker hides a
    taken message only until its acknowledgement."""
    if broker_url.startswith(("redis://", "rediss://")):
        import redis

        client = redis.Redis.from_url(broker_url, socket_timeout=3, socket_connect_timeout=3)
        try:
            client.incr(EPOCH_KEY)
        finally:
            client.close()


def held_messages(client, queues) -> set[tuple[str, str]]:
    """The (event id, task name) of the task messages a Redis broker holds: waiting in a
    queue (and its priority lists, kombu's ``<queue>\\x06\\x16<n>``) or unacknowledged by
    a worker. By task, not by event: one event is a message per consumer, and a copy still
    held for one (a retry the ledger wrote after the restart) says nothing of the others."""
    raw = []
    for queue in queues:
        for key in client.scan_iter(match=f"{queue}*", count=1000):
            if client.type(key) == b"list":
                raw.extend(client.lrange(key, 0, -1))
    raw.extend(json.dumps(json.loads(entry)[0]).encode() for entry in client.hvals("unacked"))
    return {held for held in map(_held_of, raw) if held}


def _held_of(message: bytes) -> tuple[str, str] | None:
    """The envelope's event id and the task in a kombu message carrying a Celery task
    (protocol 2: the task in the headers, body ``[args, kwargs, embed]``, base64-encoded);
    None for anything else."""
    try:
        payload = json.loads(message)
        body = payload["body"]
        if payload.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return args[0]["event_id"], payload["headers"]["task"]
    except (ValueError, KeyError, IndexError, TypeError):
        return None


class Relay:
    """Publishes a service's pending outbox rows to the broker."""

    # Published rows are kept a while for inquiries, then deleted: September would
    # otherwise grow the table without end.
    RETENTION = timedelta(days=30)
    PRUNE_EVERY_SECONDS = 3600
    # After a broker restart, rows published this long before are published again: longer
    # than any queue backlog or retry chain of a normal day. Consumers are idempotent, so
    # the cost is one cheap "already processed" per event of that hour.
    REPUBLISH_WINDOW = timedelta(hours=1)
    CHECK_BROKER_EVERY_SECONDS = 1.0

    def __init__(self, database, model, celery_app, sweep_seconds: float = 5.0, batch: int = 100,
                 republish: bool | None = None):
        self.database = database
        # the sweep's check_broker; off only where a test proves another path delivers alone
        if republish is None:
            republish = os.environ.get("OUTBOX_REPUBLISH", "1").strip().lower() not in {"0", "false", "no", "off"}
        self.republish = republish
        self.model = model
        self.celery = celery_app
        self.sweep_seconds = sweep_seconds
        self.batch = batch
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pruned_at = 0.0
        self._redis = None
        self._run_id: str | None = None
        self._checked_at = 0.0
        self._in_outage = False

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

    def check_broker(self) -> int:
        """Publish again what a restarted Redis broker may have lost; returns how many rows.

        Each relay remembers the server's ``run_id``; a new one means a restart. Rows of
        the REPUBLISH_WINDOW are sent again unless the broker still holds their message
        (in a queue, or unacknowledged by a worker): a restarted Redis without its data
        holds none, so all are sent again; one that reloaded its appendonly file still
        holds its backlog, and only what it lost goes out again — a message a worker
        popped just before the restart (popping and recording it as unacknowledged are
        two steps), a retry it had not written yet, and the ones already consumed, which
        the consumers drop. A message still queued is never doubled by this: two copies
        of one validation side by side are what made two renderings run at once.

        One relay per service and restart does it (``SET NX``). The first look of a
        process republishes nothing: a new broker is not a lost one.
        """
        client = self._broker_client()
        if client is None:
            return 0
        service = self.database.service
        server = client.info("server")
        run_id = f"{server['run_id']}:{int(client.get(EPOCH_KEY) or 0)}"
        now = datetime.now(timezone.utc)
        known = self._run_id
        if known is None or known == run_id:
            self._run_id = run_id
            return 0
        # The restart is remembered only once its republish is done: a broker still loading
        # its file (it answers LOADING), a timeout, a database down make the next look try
        # again. The claim names this relay, so its own retry is not taken for another's.
        claim, mine = f"retkoop:outbox-republished:{service}:{run_id}", f"{os.getpid()}:{id(self)}".encode()
        if not client.set(claim, mine, nx=True) and client.get(claim) != mine:
            self._run_id = run_id
            return 0  # another process of this service took care of this restart
        since = now - self.REPUBLISH_WINDOW
        held = held_messages(client, self._queues())
        with self.database.session() as session:
            recent = session.execute(
                select(self.model.id, self.model.event_id, self.model.type, self.model.payload)
                .where(self.model.published_at.is_not(None), self.model.published_at >= since)
            ).all()
            lost, partly = [], []  # every copy gone: published again as pending; some: those only
            for row in recent:
                tasks = subscribers().get(row.type, ())
                missing = [task for task in tasks if (row.event_id, task) not in held]
                if missing and len(missing) == len(tasks):
                    lost.append(row.id)
                elif missing:
                    partly.append((row, missing))
            for start in range(0, len(lost), 500):
                session.execute(update(self.model).where(self.model.id.in_(lost[start:start + 500]))
                                .values(published_at=None))
        # A failure here leaves the restart unremembered: the next look finds these copies
        # held, and sends what is still missing.
        for row, missing in partly:
            for task_name in missing:
                self.celery.send_task(task_name, args=[json.loads(row.payload)], queue=queue_of(task_name),
                                      retry=False)
        self._run_id = run_id
        log.warning("outbox %s: broker restarted (or a stuck worker killed); of %d events published since %s, "
                    "%d still held by the broker, %d sent again whole, %d sent again to the consumers that "
                    "lost them", service, len(recent), since.isoformat(timespec="seconds"),
                    len(recent) - len(lost) - len(partly), len(lost), len(partly))
        return len(lost) + len(partly)

    def _queues(self) -> set[str]:
        return {queue_of(task) for tasks in subscribers().values() for task in tasks}

    def _broker_client(self):
        url = self.celery.conf.broker_url or ""
        if broker_kind(url) != "redis":
            # RabbitMQ closes the hole at its source: a publish returns once the broker has the
            # message (publisher confirms), and a message a worker took goes back to its queue
            # unless acknowledged after the task, whatever happens to the worker or the
            # connection. The embedded SQLite broker keeps what it accepted in a file.
            return None
        if self._redis is None:
            import redis

            self._redis = redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
        return self._redis

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
                if self.republish and time.monotonic() - self._checked_at >= self.CHECK_BROKER_EVERY_SECONDS:
                    self._checked_at = time.monotonic()
                    self.check_broker()
            except Exception as exc:  # broker down: the publish below fails and is retried too
                log.debug("outbox relay: broker check failed (%s)", exc)
            try:
                self.publish_pending()
                if time.monotonic() - self._pruned_at > self.PRUNE_EVERY_SECONDS:
                    self._pruned_at = time.monotonic()
                    self.prune()
            except Exception as exc:  # a database hiccup must not kill the relay thread
                if not is_outage(exc):
                    log.exception("outbox relay sweep failed")
                elif not self._in_outage:  # one line per outage, not one per sweep
                    log.warning("outbox %s: database unreachable (%s); the sweep goes on",
                                self.database.service, str(exc).splitlines()[0])
                self._in_outage = is_outage(exc)
            else:
                if self._in_outage:
                    log.warning("outbox %s: database back, pending events published", self.database.service)
                self._in_outage = False
