"""The adhesion service's app, its client and a staff token: the fixtures most
integration tests start from (a module that tests another service defines its own)."""
import pytest

from services.adhesion.app import create_app
from shared.service import shutdown
from tests.support import Client, prepared_app, test_settings


@pytest.fixture
def app(tmp_path, database_url, redis_url):
    app = prepared_app(create_app, test_settings(tmp_path, database_url, broker_url=redis_url))
    yield app
    shutdown(app)


@pytest.fixture
def client(app):
    return Client(app)


@pytest.fixture
def staff(client):
    return client.login("admin", "admin-password")
