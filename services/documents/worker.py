"""`celery -A services.documents.worker worker -Q documents`"""
from celery.signals import worker_process_init

from services.documents.app import create_app

app = create_app()
celery = app.extensions["celery"]
# Rendering PDFs grows a process's memory a little each time: recycle the pool process
# now and then (the same as `--max-tasks-per-child 200` on the command line).
celery.conf.worker_max_tasks_per_child = 200


@worker_process_init.connect
def _own_connections(**_):
    """A forked pool process must not share the parent's database connections."""
    app.extensions["service"].database.engine.dispose(close=False)
