"""`celery -A services.ledger.worker worker -Q ledger`"""
from services.ledger.app import create_app
from shared.worker import worker_apps

flask_app, app = worker_apps(create_app)
celery = app
