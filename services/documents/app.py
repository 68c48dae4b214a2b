"""The documents service's Flask app (and its Celery worker's app)."""
from pathlib import Path

from services.documents import handlers  # noqa: F401  (registers the Celery tasks)
from services.documents.api import blp as documents_blp
from services.documents.models import OutboxEvent
from services.documents.storage import install_storage
from services.documents.verify import blp as verify_blp
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    "documents",
    blueprints=(documents_blp, verify_blp),
    migrations=Path(__file__).resolve().parent / "migrations",
    outbox_model=OutboxEvent,
    configure=install_storage,
)
create_app = SERVICE.create_app
prepare = SERVICE.prepare
