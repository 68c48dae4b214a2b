"""The documents service's Flask app (and its Celery worker's app)."""
from pathlib import Path

from services.documents import handlers  # noqa: F401  (registers the Celery tasks)
from services.documents.api import blp as documents_blp
from services.documents.models import OutboxEvent
from services.documents.storage import storage_for
from services.documents.verify import blp as verify_blp
from shared.config import load
from shared.service import create_service_app, migrate_service

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings=None):
    app, api = create_service_app("documents", OutboxEvent, settings)
    app.extensions["documents.storage"] = storage_for(app.extensions["service"].settings)
    api.register_blueprint(documents_blp)
    api.register_blueprint(verify_blp)
    return app


def prepare(settings=None) -> None:
    """Start-up step: migrate the store."""
    migrate_service("documents", settings or load(), MIGRATIONS).dispose()
