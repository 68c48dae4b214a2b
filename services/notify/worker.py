"""`celery -A services.notify.worker worker -Q notify`"""
from services.notify.app import create_app
from shared.worker import worker_apps

flask_app, app = worker_apps(create_app)
celery = app
