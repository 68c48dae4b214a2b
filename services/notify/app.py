"""The notify service's Flask app (and its Celery worker's app)."""
from pathlib import Path

from services.notify import handlers  # noqa: F401  (registers the Celery tasks)
from services.notify.api import blp as notify_blp
from shared.config import load
from shared.service import create_service_app, migrate_service

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings=None):
    app, api = create_service_app("notify", None, settings)
    api.register_blueprint(notify_blp)
    return app


def prepare(settings=None) -> None:
    """Start-up step: migrate the store."""
    migrate_service("notify", settings or load(), MIGRATIONS).dispose()
