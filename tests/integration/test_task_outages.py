"""The task base class against real outages: a broker on a port where nothing listens, a
database that refuses connections, and the session's own Redis when the broker is up.

Celery's own ``Task.retry`` turns an unpublishable retry into ``Reject(requeue=False)``,
which drops a late-acked message for good (the lost confirmation of issue 12); the first
test shows that hole in Celery, the others that ReliableTask does not have it."""
import pytest
from celery import Celery, Task
from celery.exceptions import Reject, Retry
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from deploy.redis_server import free_port
from shared.celery_app import RETRY_BACKOFF_MAX, ReliableTask


def task_on(broker_url: str, task_cls, body):
    app = Celery("outage-test", broker=broker_url, task_cls=task_cls, set_as_current=False)
    app.conf.update(task_publish_retry=False, broker_connection_timeout=1,
                    broker_transport_options={"socket_connect_timeout": 1, "socket_timeout": 1})
    # a name of its own per test's job: Celery keeps the first callable given a name
    return app.task(name=f"outage_test.{body.__qualname__}", bind=True, acks_late=True)(body)


def as_worker_runs_it(task, *args):
    """Run the task the way the worker's tracer does (not called directly), for a retry to publish."""
    task.push_request(id="4c9a1cbb-0000-4000-8000-000000000001", retries=0, called_directly=False, args=list(args),
                      kwargs={}, delivery_info={"routing_key": "outage_test"})
    try:
        return task(*args)
    finally:
        task.pop_request()


def database_down():
    port = free_port()  # nothing listens there: connection refused, as during a restart
    with create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/x").connect() as conn:
        conn.execute(text("SELECT 1"))


def unreachable_broker() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


def test_celery_drops_the_message_when_a_retry_cannot_be_published():
    def job(self):
        try:
            database_down()
        except OperationalError as exc:
            raise self.retry(exc=exc, countdown=1)

    task = task_on(unreachable_broker(), Task, job)
    with pytest.raises(Reject) as rejected:
        as_worker_runs_it(task)
    assert rejected.value.requeue is False


def test_reliable_task_puts_its_message_back_when_the_retry_cannot_be_published():
    def job(self):
        database_down()  # no autoretry_for: every outage is retried by the base class

    task = task_on(unreachable_broker(), ReliableTask, job)
    with pytest.raises(Reject) as rejected:
        as_worker_runs_it(task)
    assert rejected.value.requeue is True


def test_reliable_task_retries_an_outage_with_a_countdown_under_the_visibility_timeout(redis_url):
    def job(self):
        database_down()

    def long_wait(self):
        raise self.retry(countdown=600)

    with pytest.raises(Retry) as retried:
        as_worker_runs_it(task_on(redis_url, ReliableTask, job))
    assert isinstance(retried.value.exc, OperationalError)
    assert 0 < retried.value.when <= RETRY_BACKOFF_MAX
    with pytest.raises(Retry) as capped:
        as_worker_runs_it(task_on(redis_url, ReliableTask, long_wait))
    assert capped.value.when == RETRY_BACKOFF_MAX


def test_reliable_task_lets_other_errors_fail(redis_url):
    def job(self):
        raise ValueError("a bug is not an outage")

    with pytest.raises(ValueError):
        as_worker_runs_it(task_on(redis_url, ReliableTask, job))
