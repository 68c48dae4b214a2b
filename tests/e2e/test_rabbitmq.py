"""The pipeline on RabbitMQ (``BROKER_URL=amqp://…``): quorum queues, publisher confirms,
late acks. The machine's RabbitMQ, a virtual host of this module's own (deleted after).

The pipeline's own tests run here again on RabbitMQ (imported from test_pipeline.py: the
same assertions, this module's system), with a documents worker SIGKILLed in the middle of
a rendering, and a burst of validations meeting a worker SIGKILL and a PostgreSQL restart.
A RabbitMQ restart is not tested: the server is the machine's, shared by every test run
and engineer on it (docs/reliability.md#8-which-broker says what a restart does)."""
import threading

import pytest

from deploy.smtp_sink import MailSink
from deploy.stack import free_port
from tests.e2e.test_outages import assert_exactly_once, postgres, validated_once  # noqa: F401 (fixtures)
from tests.e2e.test_pipeline import (  # noqa: F401 (the same tests, on this module's system)
    SLOW_DOCUMENTS,
    assert_one_of_each,
    documents_of,
    paid_and_signed,
    ready_to_validate,
    test_payment_validation_documents_email,
    test_smtp_down_then_up,
    validate,
)
from tests.faults import Validations, numbers, prepare
from tests.support import module_system, rabbitmq_vhost, wait_for


@pytest.fixture(scope="module")
def system(tmp_path_factory, redis_server):
    with rabbitmq_vhost() as url:
        with module_system(tmp_path_factory, redis_server, "rabbitmq", broker_url=url) as running:
            yield running


@pytest.fixture
def amqp_url():
    with rabbitmq_vhost() as url:
        yield url


def test_queues_are_quorum_queues(stack):
    from tests.support import rabbitmqctl

    vhost = stack.settings.broker_url.rsplit("/", 1)[1]
    kinds = dict(line.split("\t") for line in rabbitmqctl(
        "list_queues", "-p", vhost, "--no-table-headers", "name", "type").splitlines() if "\t" in line)
    for queue in ("adhesion", "payment", "documents", "notify", "notify_bulk", "ledger"):
        assert kinds.get(queue) == "quorum", kinds


def test_documents_worker_killed_during_rendering(tmp_path_factory, redis_server, amqp_url, number):
    """RabbitMQ gives a killed consumer's unacknowledged message back at once (its
    connection closed): no visibility timeout to wait for."""
    with module_system(tmp_path_factory, redis_server, "rabbitmq-killed", apps=SLOW_DOCUMENTS, broker_url=amqp_url,
                       TEST_RENDER_DELAY_SECONDS="3") as (stack, sink):
        staff, school = ready_to_validate(stack, number)
        paid_and_signed(stack, staff, school, number)
        code = validate(stack, staff, number)
        worker = stack.workers["documents"]
        wait_for(lambda: "reserved, rendering" in worker.log(), what="rendering to start")
        worker.kill()  # SIGKILL the whole worker in the middle of rendering
        assert documents_of(stack, school, number) == []
        stack.start_worker("documents")
        assert_one_of_each(stack, sink, school, number, code)


@pytest.fixture
def own_sink(tmp_path):
    """A mail server of the test's own (``sink`` is the module system's)."""
    server = MailSink(tmp_path / "mailbox", port=free_port())
    server.start()
    yield server
    server.stop()


def test_burst_with_worker_killed_and_postgresql_restarted(tmp_path, postgres, amqp_url, own_sink):
    """40 validations at once on RabbitMQ while the documents worker is SIGKILLed (30 %
    answered) and PostgreSQL restarted (50 %): every validation once, every confirmation once."""
    from tests.e2e.test_outages import start_stack

    stack = start_stack(tmp_path, postgres, amqp_url, own_sink)
    try:
        staff = stack.login("admin", "admin-password")
        cooperatives = numbers(40, prefix="0387")
        prepare(stack, staff, cooperatives)
        validations = Validations(stack, staff)
        faults = []

        def at(share, fault, what):
            def run():
                wait_for(lambda: validations.done >= share * len(cooperatives), timeout=120, interval=0.005,
                         what=f"{share:.0%} of the burst")
                faults.append(what)
                fault()
            return threading.Thread(target=run, daemon=True)

        def kill_documents_worker():
            stack.workers["documents"].kill()
            stack.start_worker("documents")

        injectors = [at(0.30, kill_documents_worker, "worker SIGKILL"), at(0.50, postgres.restart, "PostgreSQL restart")]
        for injector in injectors:
            injector.start()
        validations.run(cooperatives)
        for injector in injectors:
            injector.join(60)
        assert faults == ["worker SIGKILL", "PostgreSQL restart"], faults
        statuses = validations.statuses()
        assert statuses[500] == 0 and set(statuses) <= {0, 200, 503}, statuses
        assert validations.done == len(cooperatives), statuses
        assert len(set(validations.codes.values())) == len(cooperatives)
        validated_once(stack, cooperatives)
        assert_exactly_once(stack, own_sink, cooperatives, timeout=180)
    finally:
        stack.stop()
