"""What every service's ``worker.py`` needs: the Celery app bound to the service's Flask app.

Celery's ``-A module`` takes the module's ``app`` (then ``celery``) attribute, so a
worker module exposes the Celery app under that name, not the Flask one."""
import warnings

from celery.exceptions import SecurityWarning
from celery.signals import worker_process_init

from shared import liveness, metrics
from shared.events import queues_of

# A worker started as root (`make run` on a fresh machine or in a container) gets Celery's
# « superuser privileges » warning at each start. Its risk is a task message unpickled with
# root's rights; these workers accept JSON only (shared.celery_app), never pickle, so the
# warning says nothing here (issue 25: warnings at start that nobody can act on).
warnings.filterwarnings("ignore", category=SecurityWarning)


def worker_apps(create_app):
    """Build the service's Flask app once and return ``(flask_app, celery_app)``."""
    flask_app = create_app()

    @worker_process_init.connect(weak=False)
    def _own_connections(**_):
        # A forked pool process must not share the parent's database connections.
        flask_app.extensions["service"].database.engine.dispose(close=False)

    context = flask_app.extensions["service"]
    metrics.count_tasks()
    liveness.keep(context.celery, context.settings.data_dir, queues_of(context.name))
    return flask_app, context.celery
