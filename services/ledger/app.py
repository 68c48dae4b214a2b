"""The ledger service's Flask app (and its Celery worker's app)."""
from services.ledger import handlers  # noqa: F401  (registers the Celery tasks)
from services.ledger.api import blp
from shared.service import create_service_app


def create_app(settings=None):
    # no outbox: the ledger consumes events and emits none
    app, api = create_service_app("ledger", None, settings)
    api.register_blueprint(blp)
    return app
