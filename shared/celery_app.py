"""The Celery app every service uses: one queue per service, routed by task name
(``<service>.<handler>`` goes to queue ``<service>``), late acks and
re-queue on a lost worker so a killed worker's task runs again."""
from celery import Celery, Task

from shared.config import Settings
from shared.events import queue_of

# Retries of transient failures back off up to this delay; the Redis visibility
# timeout must stay longer so a delayed retry is not re-delivered as well.
RETRY_BACKOFF_MAX = 60


def route_by_service(name, args, kwargs, options, task=None, **kw):
    return {"queue": queue_of(name)} if "." in name else None


def make_celery(name: str, settings: Settings, task_cls=Task) -> Celery:
    app = Celery(name, broker=settings.broker_url, task_cls=task_cls)
    transport_options = {}
    if settings.broker_url.startswith("redis"):
        # A task taken by a worker that then dies (SIGKILL, power loss) comes back after
        # the visibility timeout; keep it above RETRY_BACKOFF_MAX so that a retry waiting
        # for its countdown is not handed out a second time (harmless, but wasted work).
        visibility = settings.broker_visibility_timeout
        transport_options.update(
            visibility_timeout=visibility,
            unacked_restore_interval=max(1, min(10, visibility // 5)),
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
    return app


def celery_init_app(flask_app, service: str, settings: Settings) -> Celery:
    """pallets/flask examples/celery: tasks run inside the service's app context."""

    class FlaskTask(Task):
        def __call__(self, *args, **kwargs):
            with flask_app.app_context():
                return self.run(*args, **kwargs)

    app = make_celery(service, settings, task_cls=FlaskTask)
    app.set_default()
    flask_app.extensions["celery"] = app
    return app
