"""`celery -A services.documents.worker worker -Q documents`"""
from services.documents import rendering  # noqa: F401  (fonts and style sheets loaded once, before the pool forks)
from services.documents.app import create_app
from shared.worker import worker_apps

flask_app, app = worker_apps(create_app)
celery = app
# Rendering PDFs grows a process's memory a little each time: recycle the pool process
# now and then (the same as `--max-tasks-per-child 200` on the command line).
celery.conf.worker_max_tasks_per_child = 200
