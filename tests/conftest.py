import pytest
import redis

from tests.support import REDIS_TEST_URL, fresh_postgres_database


@pytest.fixture
def redis_url():
    """A clean Redis db index for one test, emptied again afterwards."""
    client = redis.Redis.from_url(REDIS_TEST_URL)
    client.ping()  # fails loudly when Redis is down: `make test` starts it first
    client.flushdb()
    yield REDIS_TEST_URL
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
