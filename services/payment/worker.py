"""`celery -A services.payment.worker worker -Q payment`"""
from services.payment.app import create_app

app = create_app()
celery = app.extensions["celery"]
