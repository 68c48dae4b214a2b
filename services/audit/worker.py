"""`celery -A services.audit.worker worker -Q audit`"""
from services.audit.app import create_app
from shared.worker import worker_apps

flask_app, app = worker_apps(create_app)
celery = app
