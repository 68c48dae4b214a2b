"""The notify service's Flask app (and its Celery worker's app)."""
from pathlib import Path

from services.notify import handlers  # noqa: F401  (registers the Celery tasks)
from services.notify.api import blp
from services.notify.models import OutboxEvent
from shared.service import ServiceDefinition

# its outbox carries only its audit records (audit.recorded)
SERVICE = ServiceDefinition("notify", blueprints=(blp,), migrations=Path(__file__).resolve().parent / "migrations",
                            outbox_model=OutboxEvent)
create_app = SERVICE.create_app
prepare = SERVICE.prepare
