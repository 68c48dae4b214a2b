"""Outages waited out (issue 12): the whole system as processes on a PostgreSQL cluster of
the test's own (so it can be restarted) and the session's own Redis (stopped and started
again without its data, the worst case). Every validation is done once the client sends
it again after a 503, never a 500, and every school gets exactly one confirmation."""
import threading
import time

import pytest
import requests

from deploy.smtp_sink import MailSink
from deploy.stack import Stack, free_port
from tests.faults import YEAR, Validations, numbers, prepare, wait_for_confirmations
from tests.pg_cluster import PostgresCluster
from tests.support import wait_for


@pytest.fixture
def postgres():
    cluster = PostgresCluster().init().start()
    yield cluster
    cluster.close()


@pytest.fixture
def sink(tmp_path):
    sink = MailSink(tmp_path / "mailbox", port=free_port())
    sink.start()
    yield sink
    sink.stop()


def start_stack(tmp_path, postgres, redis_url, sink, **env) -> Stack:
    stack = Stack(tmp_path / "data", postgres.url, redis_url, sink.port, **env)
    try:
        return stack.start()
    except BaseException:
        stack.stop()
        raise


def assert_exactly_once(sink, cooperatives, timeout=60):
    counts = wait_for_confirmations(sink.directory, cooperatives, timeout)
    missing = [n for n in cooperatives if not counts[n]]
    doubled = {n: c for n, c in counts.items() if c > 1}
    assert not missing and not doubled, f"missing {missing}, doubled {doubled}"


def test_postgresql_restarted_during_a_burst_of_validations(tmp_path, postgres, redis_url, sink):
    stack = start_stack(tmp_path, postgres, redis_url, sink)
    try:
        staff = stack.login("admin", "admin-password")
        cooperatives = numbers(20)
        prepare(stack, staff, cooperatives)
        validations = Validations(stack, staff)
        restarted_after = []

        def restart_in_the_middle():
            wait_for(lambda: validations.done >= 6, timeout=60, interval=0.01, what="a third of the burst")
            restarted_after.append(validations.done)
            postgres.restart()

        restarter = threading.Thread(target=restart_in_the_middle)
        restarter.start()
        validations.run(cooperatives)
        restarter.join()
        assert restarted_after and restarted_after[0] < len(cooperatives), "the restart missed the burst"
        statuses = validations.statuses()
        assert statuses[500] == 0 and set(statuses) <= {200, 503}, statuses
        assert validations.done == len(cooperatives), statuses
        assert len(set(validations.codes.values())) == len(cooperatives)  # no code given twice
        assert_exactly_once(sink, cooperatives)
    finally:
        stack.stop()


def test_postgresql_and_redis_down_together(tmp_path, postgres, redis_server, redis_url, sink):
    stack = start_stack(tmp_path, postgres, redis_url, sink, DOCUMENTS_RENDER_DELAY_SECONDS="2")
    try:
        staff = stack.login("admin", "admin-password")
        first, *others = cooperatives = numbers(4)
        prepare(stack, staff, cooperatives)
        assert Validations(stack, staff).run([first]).done == 1
        documents = stack.workers["documents"]
        wait_for(lambda: "reserved, rendering" in documents.log(), what="rendering to start")
        redis_server.stop()
        postgres.stop()
        try:
            started = time.monotonic()
            refused = stack.call("post", f"/api/adhesion/adhesions/{others[0]}/{YEAR}/validate", staff, json={})
            waited = time.monotonic() - started
            assert refused.status_code == 503, refused.text
            assert refused.headers["Retry-After"] == "5" and refused.json()["error"] == "unavailable"
            assert refused.json()["message"] and refused.json()["fields"] == {}
            assert waited >= 4, "a short outage is waited out inside the request first"
            health = requests.get(f"{stack.base}/api/adhesion/health", timeout=20)
            assert health.status_code == 503 and health.json() == {
                "status": "unavailable", "database": False, "broker": False}
            # the rendering task meets the outage, and its retry cannot be published
            wait_for(lambda: "retry not published" in documents.log(), timeout=20, what="the retry to fail")
        finally:
            postgres.start()
            redis_server.start()
        postgres.wait_up()
        adhesion = stack.call("get", f"/api/adhesion/adhesions/{others[0]}/{YEAR}", staff).json()
        assert adhesion["status"] != "validated"  # the 503 changed nothing
        validations = Validations(stack, staff).run(others)
        assert validations.done == len(others) and validations.statuses()[500] == 0
        assert_exactly_once(sink, cooperatives)
        assert all(worker.process.poll() is None for worker in stack.workers.values()), stack.logs()
    finally:
        stack.stop()


def test_documents_worker_killed_while_redis_is_down(tmp_path, postgres, redis_server, redis_url, sink):
    stack = start_stack(tmp_path, postgres, redis_url, sink, DOCUMENTS_RENDER_DELAY_SECONDS="2")
    try:
        staff = stack.login("admin", "admin-password")
        cooperatives = numbers(2)
        prepare(stack, staff, cooperatives)
        assert Validations(stack, staff).run(cooperatives).done == 2
        worker = stack.workers["documents"]
        wait_for(lambda: "reserved, rendering" in worker.log(), what="rendering to start")
        redis_server.stop()
        try:
            worker.kill()  # its task and its re-queue are gone with the broker's data
            stack.start_worker("documents")
            time.sleep(1)
        finally:
            redis_server.start()
        started = time.monotonic()
        assert_exactly_once(sink, cooperatives, timeout=60)
        assert time.monotonic() - started < 45, "the lost work came back within the visibility timeout"
    finally:
        stack.stop()
