"""The adhesion service's Flask app (and its Celery worker's app)."""
from pathlib import Path

from services.adhesion import handlers  # noqa: F401  (registers the Celery tasks)
from services.adhesion.api import blp as adhesion_blp
from services.adhesion.departments_api import blp as departments_blp
from services.adhesion.departments_api import password_links_blp
from services.adhesion.login import blp as login_blp
from services.adhesion.models import OutboxEvent
from services.adhesion.operations_api import blp as operations_blp
from services.adhesion.seed import seed
from shared.service import ServiceDefinition

SERVICE = ServiceDefinition(
    "adhesion",
    blueprints=(login_blp, adhesion_blp, password_links_blp, departments_blp, operations_blp),
    migrations=Path(__file__).resolve().parent / "migrations",
    outbox_model=OutboxEvent,
    seed=seed,  # first start: OCCE de l'Isère, its rates, the staff account
)
create_app = SERVICE.create_app
prepare = SERVICE.prepare
