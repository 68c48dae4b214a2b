"""The notify service's Flask app (and its Celery worker's app)."""
from services.notify import handlers  # noqa: F401  (registers the Celery tasks)
from services.notify.api import blp as notify_blp
from shared.service import create_service_app


def create_app(settings=None):
    app, api = create_service_app("notify", None, settings)
    api.register_blueprint(notify_blp)
    return app
