import pytest
import redis

from deploy.redis_server import RedisServer
from tests.support import fresh_postgres_database


@pytest.fixture(scope="session")
def redis_server():
    """This test session's own Redis (a server on a free port): another run on the same
    machine never flushes it, and a fault test may stop and restart it."""
    server = RedisServer().start()
    yield server
    server.close()


@pytest.fixture
def redis_url(redis_server):
    """A clean broker for one test, emptied again afterwards."""
    if not redis_server.answers():  # a fault test that stopped it failed before restarting it
        redis_server.start()
    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    yield redis_server.url
    client.flushdb()


@pytest.fixture
def pg_url():
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request):
    """Run the test on the embedded store and on the production one."""
    if request.param == "sqlite":
        yield None  # the settings default: one SQLite file per service under DATA_DIR
    else:
        with fresh_postgres_database() as url:
            yield url
