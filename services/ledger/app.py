"""The ledger service's Flask app (and its Celery worker's app)."""
from pathlib import Path

from services.ledger import handlers  # noqa: F401  (registers the Celery tasks)
from services.ledger.api import blp
from shared.config import load
from shared.service import create_service_app, migrate_service

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings=None):
    # no outbox: the ledger consumes events and emits none
    app, api = create_service_app("ledger", None, settings)
    api.register_blueprint(blp)
    return app


def prepare(settings=None) -> None:
    """Start-up step: migrate the store (OCCE's chart is written by the first migration)."""
    migrate_service("ledger", settings or load(), MIGRATIONS).dispose()
