"""Waiting until nothing more can happen, before asserting that nothing was doubled.

A pause ("wait 2 s, then count") misses a duplicate that comes later: a visibility-timeout
redelivery arrives 10–45 s after its original. Work in flight is always somewhere a test
can see: an event not yet published is a pending outbox row; a published one waits in a
broker queue; a task a worker holds (running, waiting for its retry countdown, or lost
with a killed worker until the visibility timeout hands it out again) is in kombu's
``unacked`` hash. When all three are empty and stay so, nothing more comes — except after
a Redis restart, when a relay may mark rows pending again within a second or two (its
``check_broker``), which ``hold`` covers. Where a redelivery is the very risk, the test
runs with a short BROKER_VISIBILITY_TIMEOUT and ``beyond_visibility`` holds the quiet
longer than it."""
import importlib
import time
from functools import cache
from pathlib import Path

import redis
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.pool import NullPool

from shared.events import queues_of, service_names


@cache
def _outbox_services() -> tuple[str, ...]:
    return tuple(s for s in service_names() if hasattr(importlib.import_module(f"services.{s}.models"), "OutboxEvent"))


@cache
def _engine(url: str):
    return create_engine(url, poolclass=NullPool)  # no connection kept: a test drops its database


def pending_work(settings, services: tuple[str, ...] | None = None) -> dict[str, int]:
    """What the system still holds, by place: ``outbox:<service>`` (rows not published),
    ``queue:<name>`` (messages waiting, priority lists included) and ``unacked``; only
    the places that are not empty. ``services``: only theirs (a test that runs some
    workers only). Raises when PostgreSQL or Redis does not answer."""
    services = services or service_names()
    work = {}
    for service in (s for s in _outbox_services() if s in services):
        url = settings.database_url_for(service)
        postgresql = url.startswith("postgresql")
        if not postgresql and not Path(url.split("///", 1)[1]).exists():
            continue  # a test that runs some services only
        with _engine(url).connect() as conn:
            if not inspect(conn).has_table("outbox", schema=service if postgresql else None):
                continue
            table = f'"{service}".outbox' if postgresql else "outbox"
            work[f"outbox:{service}"] = conn.execute(
                text(f"SELECT count(*) FROM {table} WHERE published_at IS NULL")).scalar_one()
    if settings.broker_url.startswith("amqp"):
        work.update(_rabbitmq_messages(settings.broker_url))
        return {place: count for place, count in work.items() if count}
    client = redis.Redis.from_url(settings.broker_url, socket_timeout=3, socket_connect_timeout=3)
    try:
        for service in services:
            for queue in queues_of(service):
                for key in client.scan_iter(match=f"{queue}*", count=1000):
                    if client.type(key) == b"list":
                        work[f"queue:{key.decode()}"] = work.get(f"queue:{key.decode()}", 0) + client.llen(key)
        work["unacked"] = client.hlen("unacked")
    finally:
        client.close()
    return {place: count for place, count in work.items() if count}


def _rabbitmq_messages(url: str) -> dict[str, int]:
    """Every queue of the virtual host, Celery's delayed-delivery ones included (a retry
    waiting for its countdown), counting ready and unacknowledged messages."""
    from tests.support import rabbitmqctl

    vhost = url.rsplit("/", 1)[1]
    found = {}
    for line in rabbitmqctl("list_queues", "-p", vhost, "--no-table-headers", "name", "messages").splitlines():
        name, _, count = line.strip().rpartition("\t")
        if name and count.isdigit():
            found[f"queue:{name}"] = int(count)
    return found


def quiet(system, hold: float = 1.5, timeout: float = 120, beyond_visibility: bool = False,
          services: tuple[str, ...] | None = None) -> None:
    """Wait until ``system`` (a Stack, or the Settings of workers a test started) has
    nothing in flight — every outbox published, every queue drained, no message
    unacknowledged — and has stayed so for ``hold`` seconds (longer than the visibility
    timeout with ``beyond_visibility``). ``services``: only theirs count, when the test runs
    the workers of some services only. Fails with what is still there after ``timeout``."""
    settings = getattr(system, "settings", system)
    if beyond_visibility:
        hold = max(hold, settings.broker_visibility_timeout + 1)
    deadline = time.monotonic() + timeout + hold
    since = None
    while True:
        try:
            work = pending_work(settings, services)
        except Exception as exc:  # a server restarting: not quiet yet
            work = {"unreachable": repr(exc)}
        now = time.monotonic()
        if work:
            since = None
        elif since is None:
            since = now
        elif now - since >= hold:
            return
        if now > deadline:
            raise AssertionError(f"the system is not quiet after {timeout} s: {work}")
        time.sleep(0.2)
