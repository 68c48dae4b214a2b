"""`celery -A services.notify.worker worker -Q notify`

Celery's ``-A`` looks for a module attribute named ``app`` before ``celery``, so the
Flask app must not be called ``app`` here.
"""
from services.notify.app import create_app

flask_app = create_app()
celery = flask_app.extensions["celery"]
