import os

import pytest
import redis

from deploy.redis_server import RedisServer
from tests.pg_cluster import PostgresCluster
from tests.support import fresh_postgres_database

_OWN_POSTGRES = pytest.StashKey[PostgresCluster]()


def pytest_configure(config):
    """This run's own PostgreSQL server (the machine's PostgreSQL, a cluster on a free
    port): two runs at once never share a server's connections (the machine's
    max_connections of 100 ran out with two runs' systems side by side). Started by the
    process pytest begins in; the xdist workers it spawns inherit TEST_POSTGRES_URL.
    A TEST_POSTGRES_URL given beforehand is used instead."""
    if os.environ.get("TEST_POSTGRES_URL"):
        return
    cluster = PostgresCluster(max_connections=300).init().start()
    config.stash[_OWN_POSTGRES] = cluster
    os.environ["TEST_POSTGRES_URL"] = cluster.url


def pytest_unconfigure(config):
    cluster = config.stash.get(_OWN_POSTGRES, None)
    if cluster is not None:
        os.environ.pop("TEST_POSTGRES_URL", None)
        cluster.close()


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
