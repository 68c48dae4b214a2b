"""Real parts for the tests: a fresh PostgreSQL database, a clean Redis db index, real
Celery worker processes. Nothing here is a stand-in; when a server is missing the
tests fail loudly instead of skipping."""
import os
import subprocess
import uuid
from contextlib import contextmanager

import psycopg

from deploy.stack import ROOT, Worker, env_for, stack_settings, wait_for  # noqa: F401  (the tests' helpers too)
from shared.config import Settings

test_settings = stack_settings  # settings for an app built inside the test process
test_settings.__test__ = False  # a helper, not a test

# The worked example of the guide: one row, 10 teachers, 165 pupils, insured → 439,25 €.
GUIDE = {
    "classes": [{"name": "ECOLE ENTIERE", "teachers": "mei", "teacher_count": 10, "student_count": 165}],
    "insurance": True,
    "goods_value": "0.00",
    "instruments_value": "0.00",
    "payment": {"transfer": False, "cheque": True, "other": False},
}


def pg_admin_url() -> str:
    """The PostgreSQL server this run creates its databases on: its own (tests/conftest.py
    starts one per run and names it in TEST_POSTGRES_URL), or the one TEST_POSTGRES_URL names."""
    return os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


# The machine's RabbitMQ; each system under test gets a virtual host of its own, deleted afterwards.
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672")


def rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True,
                          timeout=60).stdout


@contextmanager
def rabbitmq_vhost():
    """A new, empty RabbitMQ virtual host (another run's queues never meet this one's); yields its URL."""
    name = f"retkoop_t_{uuid.uuid4().hex[:10]}"
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, RABBITMQ_URL.split("//", 1)[1].split(":", 1)[0], ".*", ".*", ".*")
        yield f"{RABBITMQ_URL}/{name}"
    finally:
        rabbitmqctl("delete_vhost", name)


@contextmanager
def fresh_postgres_database():
    """A new, empty database for one test or module, dropped afterwards."""
    name = f"retkoop_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_admin_url(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = pg_admin_url().rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(pg_admin_url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def school_email(number: str) -> str:
    """The school mailbox the e2e tests give a cooperative: the academy's pattern."""
    return f"ce.{number.lower()}@ac-grenoble.fr"


def prepared_app(create_app, settings: Settings):
    """A service's app on a store the start-up step has migrated (and seeded). A token
    made with ``bearer_for`` opens its own session in the app it is sent to, so tests
    share no registry of tokens or apps."""
    create_app.__self__.prepare(settings)  # the factory is its ServiceDefinition's
    app = create_app(settings)
    app.before_request(_open_test_session)
    return app


TEST_SESSION = "test-"  # the session ids of bearer_for tokens


def bearer_for(principal) -> dict:
    """An Authorization header for ``principal`` without a login (services other than
    adhesion have none); its session opens in whichever test app it reaches."""
    from shared.auth import Principal, issue_token

    session_id = f"{TEST_SESSION}{principal.login}"
    principal = Principal(principal.login, principal.role, principal.department, principal.cooperative, session_id,
                          principal.national)
    return {"Authorization": f"Bearer {issue_token('test-secret', principal)}"}


def _open_test_session() -> None:
    from datetime import timedelta

    from flask import current_app, request
    from sqlalchemy.exc import IntegrityError

    from shared.auth import read_token

    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return
    try:
        principal = read_token("test-secret", header.removeprefix("Bearer "))
    except Exception:  # not a user's token of the tests: the app answers it as it would
        return
    if principal.session and principal.session.startswith(TEST_SESSION):
        sessions = current_app.extensions["auth_sessions"]
        if sessions.is_open(principal.session, principal.login):
            return
        try:
            sessions.open(principal.login, timedelta(hours=1), session_id=principal.session)
        except IntegrityError:  # two requests of one token at once: the other opened it
            pass


class Client:
    """The Flask test client of one service's app, with a login helper."""

    def __init__(self, app):
        self.app = app
        self.http = app.test_client()

    def login(self, login, password):
        response = self.http.post("/api/auth/login", json={"login": login, "password": password})
        assert response.status_code == 200, response.json
        return {"Authorization": f"Bearer {response.json['token']}"}

    def __getattr__(self, name):
        return getattr(self.http, name)


@contextmanager
def module_system(tmp_path_factory, redis_server, name: str, db: int = 0, apps: dict[str, str] | None = None,
                  broker_url: str | None = None, **env):
    """The whole system (gunicorn, every worker, a real SMTP server) for one test module, on
    its own PostgreSQL database and this session's Redis: starting one costs ~10 s of CPU,
    so the tests of a module share it and each works on its own cooperatives. ``db``: the
    Redis db index, for a second system running beside the module's; ``apps``: the Celery
    app module of a service's workers, when not its own (``tests/workers``); ``broker_url``:
    another broker than Redis (a RabbitMQ virtual host of the test's own)."""
    import redis

    from deploy.smtp_sink import MailSink
    from deploy.stack import Stack, free_port

    broker = None
    if broker_url is None:
        broker_url = redis_server.url.rsplit("/", 1)[0] + f"/{db}"
        broker = redis.Redis.from_url(broker_url)
        broker.flushdb()
    base = tmp_path_factory.mktemp(name)
    sink = MailSink(base / "mailbox", port=free_port())
    sink.start()
    try:
        with fresh_postgres_database() as database_url:
            stack = Stack(base / "data", database_url, broker_url, sink.port, apps=apps, **env)
            try:
                yield stack.start(), sink
            except BaseException:
                print(stack.logs())
                raise
            finally:
                stack.stop()
    finally:
        sink.stop()
        if broker is not None:
            broker.flushdb()
