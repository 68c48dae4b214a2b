"""`celery -A services.payment.worker worker -Q payment`"""
from services.payment.app import create_app
from shared.worker import worker_apps

flask_app, app = worker_apps(create_app)
celery = app
