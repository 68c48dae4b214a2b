"""The integration modules' one app factory (``make_app``), and the adhesion app, its
client and a staff token most tests start from."""
import pytest

from services.adhesion.app import create_app
from shared.service import shutdown
from tests.support import Client, prepared_app, test_settings


@pytest.fixture
def make_app(tmp_path, redis_url):
    """``make_app(create_app, database_url, **settings)``: a service's app on this test's
    DATA_DIR (or ``data_dir``) and broker, or on the ``settings`` given, its store migrated
    and seeded; every app made is shut down after the test."""
    made = []

    def make(factory=create_app, database_url=None, data_dir=None, settings=None, **overrides):
        settings = settings or test_settings(data_dir or tmp_path, database_url, broker_url=redis_url, **overrides)
        app = prepared_app(factory, settings)
        made.append(app)
        return app

    yield make
    for app in reversed(made):
        shutdown(app)


@pytest.fixture
def app(make_app, database_url):
    return make_app(create_app, database_url)


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def staff(client):
    return client.login("admin", "admin-password")
