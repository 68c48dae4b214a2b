"""The adhesion service's Flask app (and its Celery worker's app)."""
from services.adhesion import handlers  # noqa: F401  (registers the Celery tasks)
from services.adhesion.api import blp as adhesion_blp
from services.adhesion.login import blp as auth_blp
from services.adhesion.models import OutboxEvent
from services.adhesion.seed import seed
from shared.service import create_service_app


def create_app(settings=None):
    app, api = create_service_app("adhesion", OutboxEvent, settings)
    seed(app.extensions["service"].database, app.extensions["service"].settings)
    api.register_blueprint(auth_blp)
    api.register_blueprint(adhesion_blp)
    return app
