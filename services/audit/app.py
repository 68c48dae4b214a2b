"""The audit service's Flask app (and its Celery worker's app)."""
from pathlib import Path

from services.audit import handlers  # noqa: F401  (registers the Celery tasks)
from services.audit.api import blp
from shared.service import ServiceDefinition

# No outbox: the log records what every other service tells it, and emits nothing.
SERVICE = ServiceDefinition("audit", blueprints=(blp,), migrations=Path(__file__).resolve().parent / "migrations")
create_app = SERVICE.create_app
prepare = SERVICE.prepare
