"""The ledger service's Flask app (and its Celery worker's app)."""
from pathlib import Path

from services.ledger import handlers  # noqa: F401  (registers the Celery tasks)
from services.ledger.api import blp
from services.ledger.models import OutboxEvent
from services.ledger.yearend_api import blp as yearend_blp
from shared.service import ServiceDefinition

# The outbox carries the CRF's events (submitted, returned, reminders) and its audit
# records (audit.recorded). No seed: OCCE's default chart of accounts is written by the
# migrations.
SERVICE = ServiceDefinition("ledger", blueprints=(blp, yearend_blp), migrations=Path(__file__).resolve().parent / "migrations",
                            outbox_model=OutboxEvent)
create_app = SERVICE.create_app
prepare = SERVICE.prepare
