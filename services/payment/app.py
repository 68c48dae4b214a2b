"""The payment service's Flask app (and its Celery worker's app)."""
from services.payment import handlers  # noqa: F401  (registers the Celery tasks)
from services.payment.api import blp
from services.payment.models import OutboxEvent
from shared.service import create_service_app


def create_app(settings=None):
    app, api = create_service_app("payment", OutboxEvent, settings)
    api.register_blueprint(blp)
    return app
