"""The Celery app every service uses: one queue per service, routed by task name
(``<service>.<handler>`` goes to queue ``<service>``), late acks and
re-queue on a lost worker so a killed worker's task runs again."""
import logging
import random
import time

from celery import Celery, Task
from celery.exceptions import Ignore, Reject, Retry
from celery.signals import before_task_publish
from celery.worker.request import Request

from shared.broker import PUBLISHED_AT
from shared.broker import kind as broker_kind
from shared.config import Settings
from shared.errors import is_outage
from shared.events import queue_of

log = logging.getLogger(__name__)

# Retries of transient failures wait at most this long. A retry waiting for its countdown
# is held unacked by the worker, so this stays well under the Redis visibility timeout
# (BROKER_VISIBILITY_TIMEOUT, 45 s): otherwise the waiting retry is handed out twice.
RETRY_BACKOFF_MAX = 20
# When a retry cannot be published (broker down too), the task waits this long at most
# before putting its own message back, so a double outage does not spin.
REQUEUE_PAUSE_MAX = 5


def backoff(retries: int) -> float:
    """1, 2, 4 … seconds with full jitter, capped at RETRY_BACKOFF_MAX."""
    return random.uniform(0.5, 1) * min(RETRY_BACKOFF_MAX, 2 ** retries)


class OutageTolerantRequest(Request):
    """A task's message whose ack or reject fails because the broker is gone (a Redis
    restart) stays unacked in the broker and comes back after the visibility timeout;
    kombu re-raises some of these errors (``BrokenPipeError``), which stopped a worker."""

    def acknowledge(self):
        try:
            super().acknowledge()
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.acknowledged = True
            log.warning("%s[%s]: ack lost with the broker (%s); it may run again", self.name, self.id, exc)

    def reject(self, requeue=False):
        try:
            super().reject(requeue=requeue)
        except Exception as exc:
            if not is_outage(exc):
                raise
            self.acknowledged = True
            log.warning("%s[%s]: reject lost with the broker (%s); it comes back after the visibility timeout",
                        self.name, self.id, exc)


class ReliableTask(Task):
    """A task whose message is never lost to an outage.

    * Any outage (database or broker unreachable, see ``shared.errors.is_outage``) is
      retried with backoff, whatever the handler's ``autoretry_for`` lists.
    * Celery's ``retry()`` publishes a new message and acknowledges the current one; when
      that publish fails (broker down) it raises ``Reject(requeue=False)``, which drops a
      late-acked message for good. Here the message is put back instead (``requeue=True``);
      if even that fails the broker still holds it unacked and hands it out again after
      the visibility timeout.
    * Countdowns are capped below the visibility timeout.
    * An ack or reject lost with the broker does not stop the worker (OutageTolerantRequest).
    """

    Request = OutageTolerantRequest

    def __call__(self, *args, **kwargs):
        return self.run_retrying_outages(*args, **kwargs)

    def run_retrying_outages(self, *args, **kwargs):
        try:
            return self.run(*args, **kwargs)
        except (Retry, Reject, Ignore):
            raise
        except Exception as exc:
            if not is_outage(exc) or self.request.called_directly:
                raise
            raise self.retry(exc=exc, countdown=backoff(self.request.retries))

    def retry(self, args=None, kwargs=None, exc=None, throw=True, eta=None, countdown=None, max_retries=None,
              **options):
        if eta is None and countdown is not None:
            countdown = min(countdown, RETRY_BACKOFF_MAX)
        # Celery logs retries at INFO; an operator reads WARNING and above, so every retry
        # leaves a line there with its cause.
        log.warning("%s[%s]: attempt %d failed (%s: %s); retried in %s", self.name, self.request.id,
                    (self.request.retries or 0) + 1, type(exc).__name__ if exc else "retry", exc,
                    f"{countdown:.0f} s" if countdown is not None else (eta or "the default delay"))
        try:
            return super().retry(args, kwargs, exc, throw, eta, countdown, max_retries, **options)
        except Reject as reject:
            if reject.requeue:
                raise
            log.warning("%s[%s]: retry not published (%s); message put back after a pause",
                        self.name, self.request.id, reject.reason)
            time.sleep(min(countdown or 1, REQUEUE_PAUSE_MAX))
            raise Reject(reject.reason, requeue=True) from None


@before_task_publish.connect(weak=False)
def _stamp_publish_time(headers=None, **_):
    """Every task message carries when it was published: the age of a queue's oldest
    message (shared/broker.py) reads it. A retry is a new message, stamped anew."""
    if headers is not None:
        headers[PUBLISHED_AT] = time.time()


def route_by_service(name, args, kwargs, options, task=None, **kw):
    return {"queue": queue_of(name)} if "." in name else None


def make_celery(name: str, settings: Settings, task_cls=ReliableTask) -> Celery:
    app = Celery(name, broker=settings.broker_url, task_cls=task_cls)
    transport_options = {}
    amqp = broker_kind(settings.broker_url) == "amqp"
    if amqp:
        # RabbitMQ (docs/reliability.md#8-which-broker): quorum queues (replicated, kept on
        # disk, a poison message dead-lettered after its delivery limit rather than looping),
        # publisher confirms (a publish returns once the broker has the message: the outbox
        # marks a row published only then), and late acks as for every broker — a message
        # leaves the queue only when its task is done, whatever happens to the worker or the
        # connection. Countdowns (retries) use Celery's native delayed delivery on quorum queues.
        transport_options.update(confirm_publish=True)
    if settings.broker_url.startswith("redis"):
        # A task taken by a worker that then dies (SIGKILL, power loss), or whose re-queue
        # was lost in a broker outage, comes back after the visibility timeout (checked
        # every few seconds): within a minute by default. It stays above RETRY_BACKOFF_MAX
        # and the longest task (a render: well under a second; an SMTP send: its timeout),
        # else a task still running or waiting is handed out a second time (harmless:
        # consumers are idempotent, but wasted work).
        visibility = settings.broker_visibility_timeout
        transport_options.update(
            visibility_timeout=visibility,
            unacked_restore_interval=max(1, min(5, visibility // 5)),
            unacked_restore_throttle=1,
            socket_connect_timeout=3,
            socket_timeout=10,
        )
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        task_routes=(route_by_service,),
        task_default_queue=name,
        task_serializer="json",
        accept_content=["json"],
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_connection_timeout=3,
        broker_transport_options=transport_options,
        broker_pool_limit=4,
    )
    if amqp:
        app.conf.update(task_default_queue_type="quorum", task_create_missing_queue_type="quorum",
                        worker_detect_quorum_queues=True, task_create_missing_queues=True)
    return app


def celery_init_app(flask_app, service: str, settings: Settings) -> Celery:
    """pallets/flask examples/celery: tasks run inside the service's app context."""

    class FlaskTask(ReliableTask):
        def __call__(self, *args, **kwargs):
            with flask_app.app_context():
                return self.run_retrying_outages(*args, **kwargs)

    app = make_celery(service, settings, task_cls=FlaskTask)
    app.set_default()
    flask_app.extensions["celery"] = app
    return app
