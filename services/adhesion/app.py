"""The adhesion service's Flask app (and its Celery worker's app)."""
from pathlib import Path

from services.adhesion import handlers  # noqa: F401  (registers the Celery tasks)
from services.adhesion.api import blp as adhesion_blp
from services.adhesion.departments_api import auth_blp as password_links_blp
from services.adhesion.departments_api import blp as departments_blp
from services.adhesion.login import blp as auth_blp
from services.adhesion.models import OutboxEvent
from services.adhesion.seed import seed
from shared.config import load
from shared.service import create_service_app, migrate_service

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def create_app(settings=None):
    app, api = create_service_app("adhesion", OutboxEvent, settings)
    api.register_blueprint(auth_blp)
    api.register_blueprint(adhesion_blp)
    api.register_blueprint(password_links_blp)
    api.register_blueprint(departments_blp)
    return app


def prepare(settings=None) -> None:
    """Start-up step: migrate the store, then the first-start seed."""
    settings = settings or load()
    database = migrate_service("adhesion", settings, MIGRATIONS)
    try:
        seed(database, settings)
    finally:
        database.dispose()
