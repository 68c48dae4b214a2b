"""The notify service's Flask app (and its Celery worker's app)."""
from pathlib import Path

from services.notify import handlers  # noqa: F401  (registers the Celery tasks)
from services.notify.api import blp
from shared.service import ServiceDefinition

# no outbox: notify sends mail and publishes no event
SERVICE = ServiceDefinition("notify", blueprints=(blp,), migrations=Path(__file__).resolve().parent / "migrations")
create_app = SERVICE.create_app
prepare = SERVICE.prepare
