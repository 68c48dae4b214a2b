"""The rules of /metrics' access, the stuck-worker judgement and the heartbeats, alone."""
import dataclasses
import os
import time

from shared import broker, liveness
from shared.config import load
from shared.events import queues_of, service_names
from shared.metrics import refusal


def settings(token=None):
    return dataclasses.replace(load(), metrics_token=token)


def test_metrics_without_a_token_only_to_this_machine_and_never_through_a_proxy():
    assert refusal(settings(), {}, "127.0.0.1") is None
    assert refusal(settings(), {}, "::1") is None
    assert refusal(settings(), {}, "10.0.0.5")[0] == 404
    assert refusal(settings(), {"X-Forwarded-For": "203.0.113.9"}, "127.0.0.1")[0] == 404
    assert refusal(settings(), {"X-Real-IP": "203.0.113.9"}, "127.0.0.1")[0] == 404


def test_metrics_with_a_token_ask_for_it_from_anywhere():
    assert refusal(settings("s3cret"), {}, "127.0.0.1")[0] == 401
    assert refusal(settings("s3cret"), {"Authorization": "Basic czNjcmV0"}, "127.0.0.1")[0] == 401
    assert refusal(settings("s3cret"), {"Authorization": "Bearer wrong"}, "127.0.0.1")[0] == 403
    assert refusal(settings("s3cret"), {"Authorization": "Bearer s3cret"}, "203.0.113.9") is None


def test_stuck_only_when_work_waits_and_nothing_was_taken_for_long():
    now = time.time()
    assert liveness.is_stuck(now - 41, now - 600, waiting=1, now=now, after=40)
    assert not liveness.is_stuck(now - 41, now - 600, waiting=0, now=now, after=40)  # idle, not stuck
    assert not liveness.is_stuck(now - 5, now - 600, waiting=30, now=now, after=40)  # busy, taking work
    assert not liveness.is_stuck(None, now - 10, waiting=3, now=now, after=40)  # still starting
    assert liveness.is_stuck(None, now - 50, waiting=3, now=now, after=40)  # never took anything


def test_every_queue_gets_a_heartbeat_that_expires_before_the_next_pile_up():
    queues = [q for s in service_names() for q in queues_of(s)]
    schedule = liveness.heartbeat_schedule(queues)
    assert {entry["options"]["queue"] for entry in schedule.values()} == set(queues)
    for entry in schedule.values():
        assert entry["task"] == f"{entry['options']['queue']}.heartbeat"
        assert entry["options"]["expires"] <= 3 * entry["schedule"]


def test_workers_seen_within_the_minute(tmp_path):
    folder = liveness.folder(tmp_path)
    folder.mkdir()
    fresh, old = liveness.path_of(tmp_path, "documents@h"), liveness.path_of(tmp_path, "ledger@h")
    fresh.write_text('{"name": "documents@h", "queues": ["documents"], "pid": 12}')
    old.write_text('{"name": "ledger@h", "queues": ["ledger"], "pid": 13}')
    os.utime(old, (time.time() - 120, time.time() - 120))
    seen = liveness.seen(tmp_path, within=60)
    assert [(w.name, w.queues, w.pid) for w in seen] == [("documents@h", ("documents",), 12)]


def test_broker_kinds():
    assert broker.kind("redis://127.0.0.1:6379/0") == "redis"
    assert broker.kind("amqp://guest:guest@127.0.0.1:5672//") == "amqp"
    assert broker.kind("sqla+sqlite:////tmp/broker.db") == "sql"
