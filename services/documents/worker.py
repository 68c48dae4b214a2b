"""`celery -A services.documents.worker worker -Q documents`

Celery's ``-A module`` takes the module's ``app`` (then ``celery``) attribute, so ``app``
must be the Celery app, not the Flask one."""
from celery.signals import worker_process_init

from services.documents.app import create_app

flask_app = create_app()
app = celery = flask_app.extensions["celery"]
# Rendering PDFs grows a process's memory a little each time: recycle the pool process
# now and then (the same as `--max-tasks-per-child 200` on the command line).
celery.conf.worker_max_tasks_per_child = 200


@worker_process_init.connect
def _own_connections(**_):
    """A forked pool process must not share the parent's database connections."""
    flask_app.extensions["service"].database.engine.dispose(close=False)
