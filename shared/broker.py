"""What the broker holds, whichever it is: messages waiting per queue and how long the
oldest has waited, for the metrics, « État du système » and the stuck-worker check.

Redis (kombu's lists, one per queue and priority), RabbitMQ (a passive declare: the
ready messages; their age is not told without a management plugin) and the embedded
SQLite broker (kombu's ``kombu_message`` table). Every task message carries the moment
it was published (``shared.celery_app`` stamps the header ``PUBLISHED_AT``)."""
import json
import time
from dataclasses import dataclass
from functools import cache

PUBLISHED_AT = "retkoop_published_at"


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    messages: int
    oldest_age: float | None  # seconds; None when empty or when the broker does not tell


def kind(url: str) -> str:
    """``redis``, ``amqp`` or ``sql`` (the embedded broker)."""
    if url.startswith(("redis://", "rediss://")):
        return "redis"
    if url.startswith(("amqp://", "amqps://", "pyamqp://")):
        return "amqp"
    return "sql"


def depths(url: str, queues, now: float | None = None) -> dict[str, QueueDepth]:
    """Each queue's waiting messages (not those a worker holds unacknowledged)."""
    now = now or time.time()
    reader = {"redis": _redis_depths, "amqp": _amqp_depths, "sql": _sql_depths}[kind(url)]
    return reader(url, list(queues), now)


def _age(message: dict, now: float) -> float | None:
    stamp = (message.get("headers") or {}).get(PUBLISHED_AT)
    return max(0.0, now - float(stamp)) if stamp is not None else None


@cache
def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)


def _redis_depths(url: str, queues: list[str], now: float) -> dict[str, QueueDepth]:
    client = _redis_client(url)
    found = {}
    for queue in queues:
        count, oldest = 0, None
        # kombu keeps a list per priority: ``<queue>`` and ``<queue>\x06\x16<n>``
        for key in [queue.encode()] + [key for key in client.scan_iter(match=f"{queue}\x06\x16*", count=1000)]:
            length = client.llen(key)
            if not length:
                continue
            count += length
            tail = client.lindex(key, -1)  # kombu pushes on the left and takes from the right
            try:
                age = _age(json.loads(tail), now) if tail else None
            except ValueError:
                age = None
            if age is not None and (oldest is None or age > oldest):
                oldest = age
        found[queue] = QueueDepth(queue, count, oldest)
    return found


def redis_unacked(url: str) -> int:
    return _redis_client(url).hlen("unacked")


def _amqp_depths(url: str, queues: list[str], now: float) -> dict[str, QueueDepth]:
    from kombu import Connection

    found = {}
    with Connection(url, connect_timeout=3) as conn:
        for queue in queues:
            channel = conn.channel()
            try:
                _, count, _ = channel.queue_declare(queue=queue, passive=True)
            except Exception:  # not declared yet: no worker ever consumed it, nothing sent to it
                count = 0
            finally:
                try:
                    channel.close()
                except Exception:  # a passive declare of a missing queue closes the channel itself
                    pass
            found[queue] = QueueDepth(queue, count, None)
    return found


@cache
def _sql_engine(url: str):
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    return create_engine(url.removeprefix("sqla+"), poolclass=NullPool)


def _sql_depths(url: str, queues: list[str], now: float) -> dict[str, QueueDepth]:
    from sqlalchemy import inspect, text

    found = {queue: QueueDepth(queue, 0, None) for queue in queues}
    with _sql_engine(url).connect() as conn:
        if not inspect(conn).has_table("kombu_message"):
            return found
        rows = conn.execute(text(
            "SELECT q.name, count(m.id), min(m.id) FROM kombu_message m JOIN kombu_queue q ON q.id = m.queue_id "
            "WHERE m.visible GROUP BY q.name")).all()
        for name, count, first in rows:
            if name not in found:
                continue
            payload = conn.execute(text("SELECT payload FROM kombu_message WHERE id = :id"), {"id": first}).scalar()
            try:
                age = _age(json.loads(payload), now) if payload else None
            except ValueError:
                age = None
            found[name] = QueueDepth(name, count, age)
    return found
