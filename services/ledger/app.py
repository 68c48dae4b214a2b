"""The ledger service's Flask app (and its Celery worker's app)."""
from pathlib import Path

from services.ledger import handlers  # noqa: F401  (registers the Celery tasks)
from services.ledger.api import blp
from shared.service import ServiceDefinition

# No outbox: the ledger consumes events and emits none. No seed: OCCE's chart of
# accounts is written by the first migration.
SERVICE = ServiceDefinition("ledger", blueprints=(blp,), migrations=Path(__file__).resolve().parent / "migrations")
create_app = SERVICE.create_app
prepare = SERVICE.prepare
