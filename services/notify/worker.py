"""`celery -A services.notify.worker worker -Q notify`"""
from services.notify.app import create_app

app = create_app()
celery = app.extensions["celery"]
