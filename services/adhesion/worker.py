"""`celery -A services.adhesion.worker worker -Q adhesion`"""
from services.adhesion.app import create_app
from shared.worker import worker_apps

flask_app, app = worker_apps(create_app)
celery = app
