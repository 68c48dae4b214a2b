"""The payment service's Flask app (and its Celery worker's app)."""
from pathlib import Path

from services.payment import handlers  # noqa: F401  (registers the Celery tasks)
from services.payment.api import blp
from services.payment.models import OutboxEvent
from services.payment.sepa_api import blp as sepa_blp
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    "payment",
    blueprints=(blp, sepa_blp),
    migrations=Path(__file__).resolve().parent / "migrations",
    outbox_model=OutboxEvent,
)
create_app = SERVICE.create_app
prepare = SERVICE.prepare
