"""The install's state as its operator reads it — each queue's waiting messages, each
service's outbox backlog, the email log by status, the workers seen in the last minute —
for ``/metrics`` and the national admin's « État du système ». Read at each call, each
part on its own: a broker down leaves the outboxes readable, and says so in ``errors``."""
import importlib
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from shared import broker, liveness
from shared.events import queues_of, service_names

# A worker counts as present when it took a message (a task or its queue's heartbeat)
# this recently.
SEEN_WITHIN_SECONDS = 60


@dataclass(frozen=True)
class OutboxBacklog:
    service: str
    pending: int
    oldest_age: float | None


@dataclass
class Snapshot:
    queues: list[broker.QueueDepth] = field(default_factory=list)
    unacked: int | None = None
    outboxes: list[OutboxBacklog] = field(default_factory=list)
    emails: dict[tuple[str, str], int] = field(default_factory=dict)  # (status, lane) -> count
    workers: list[liveness.Seen] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)

    def workers_by_queue(self) -> dict[str, int]:
        counts = Counter({queue: 0 for depth in self.queues for queue in [depth.queue]})
        for worker in self.workers:
            for queue in worker.queues:
                counts[queue] += 1
        return dict(counts)


def all_queues() -> list[str]:
    return [queue for service in service_names() for queue in queues_of(service)]


def snapshot(settings) -> Snapshot:
    found = Snapshot()
    try:
        found.queues = list(broker.depths(settings.broker_url, all_queues()).values())
        if broker.kind(settings.broker_url) == "redis":
            found.unacked = broker.redis_unacked(settings.broker_url)
    except Exception as exc:  # the broker down: the rest is still worth reading
        found.errors["broker"] = _first_line(exc)
    for service in _outbox_services():
        try:
            found.outboxes.append(outbox_backlog(settings, service))
        except Exception as exc:
            found.errors[f"outbox:{service}"] = _first_line(exc)
    try:
        found.emails = email_counts(settings)
    except Exception as exc:
        found.errors["emails"] = _first_line(exc)
    found.workers = liveness.seen(settings.data_dir, within=SEEN_WITHIN_SECONDS)
    return found


def _first_line(exc: Exception) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]


@cache
def _outbox_services() -> tuple[str, ...]:
    return tuple(s for s in service_names()
                 if hasattr(importlib.import_module(f"services.{s}.models"), "OutboxEvent"))


@cache
def _engine(url: str):
    return create_engine(url, poolclass=NullPool, connect_args=(
        {"connect_timeout": 3} if url.startswith("postgresql") else {}))


def _table(settings, service: str, name: str):
    """(connection url, qualified table name), or None when the store has no such table yet."""
    url = settings.database_url_for(service)
    postgresql = url.startswith("postgresql")
    with _engine(url).connect() as conn:
        if not inspect(conn).has_table(name, schema=service if postgresql else None):
            return None
    return url, (f'"{service}".{name}' if postgresql else name)


def outbox_backlog(settings, service: str) -> OutboxBacklog:
    located = _table(settings, service, "outbox")
    if located is None:
        return OutboxBacklog(service, 0, None)
    url, table = located
    with _engine(url).connect() as conn:
        count, oldest = conn.execute(text(
            f"SELECT count(*), min(occurred_at) FROM {table} WHERE published_at IS NULL")).one()
    return OutboxBacklog(service, count, _age(oldest))


def _age(moment) -> float | None:
    if moment is None:
        return None
    if isinstance(moment, str):  # SQLite hands the text back through a raw query
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, time.time() - moment.timestamp())


def email_counts(settings) -> dict[tuple[str, str], int]:
    """The email log by status and lane, as the services that keep one count it (their
    ``figures.email_counts``): shared knows no service's tables."""
    counts: dict[tuple[str, str], int] = {}
    for service, figures in _figures():
        if hasattr(figures, "email_counts"):
            counts.update(figures.email_counts(_query(settings, service)))
    return counts


@cache
def _figures() -> tuple:
    """Each service's ``figures`` module, for those that have one."""
    found = []
    for service in service_names():
        try:
            found.append((service, importlib.import_module(f"services.{service}.figures")))
        except ModuleNotFoundError as exc:
            if exc.name != f"services.{service}.figures":
                raise
    return tuple(found)


def _query(settings, service: str):
    def run(name: str, sql: str):
        located = _table(settings, service, name)
        if located is None:
            return None
        url, table = located
        with _engine(url).connect() as conn:
            return conn.execute(text(sql.format(table=table))).all()
    return run


def as_json(found: Snapshot) -> dict:
    """What « État du système » shows, as ``GET /api/adhesion/operations`` answers it."""
    by_queue = found.workers_by_queue()
    return {
        "queues": [{"queue": d.queue, "messages": d.messages,
                    "oldest_age_seconds": None if d.oldest_age is None else round(d.oldest_age, 1),
                    "workers_seen": by_queue.get(d.queue, 0)} for d in found.queues],
        "unacked": found.unacked,
        "workers": [{"name": w.name, "queues": list(w.queues), "last_seen_seconds": round(w.age, 1)}
                    for w in found.workers],
        "outboxes": [{"service": o.service, "pending": o.pending,
                      "oldest_age_seconds": None if o.oldest_age is None else round(o.oldest_age, 1)}
                     for o in found.outboxes],
        "emails": [{"status": status, "lane": lane, "count": count}
                   for (status, lane), count in sorted(found.emails.items())],
        "errors": found.errors,
    }

