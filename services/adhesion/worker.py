"""`celery -A services.adhesion.worker worker -Q adhesion`"""
from services.adhesion.app import create_app

app = create_app()
celery = app.extensions["celery"]
