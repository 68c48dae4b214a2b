"""The payment service's Flask app (and its Celery worker's app)."""
from pathlib import Path

from services.payment import handlers  # noqa: F401  (registers the Celery tasks)
from services.payment.api import blp
from services.payment.models import OutboxEvent
from shared.config import load
from shared.service import create_service_app, migrate_service

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings=None):
    app, api = create_service_app("payment", OutboxEvent, settings)
    api.register_blueprint(blp)
    return app


def prepare(settings=None) -> None:
    """Start-up step: migrate the store."""
    migrate_service("payment", settings or load(), MIGRATIONS).dispose()
