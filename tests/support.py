"""Real parts for the tests: a fresh PostgreSQL database, a clean Redis db index, real
Celery worker processes. Nothing here is a stand-in; when a server is missing the
tests fail loudly instead of skipping."""
import dataclasses
import os
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psycopg

from shared.config import Settings, load

ROOT = Path(__file__).resolve().parent.parent

# The worked example of the guide: one row, 10 teachers, 165 pupils, insured → 439,25 €.
GUIDE = {
    "classes": [{"name": "ECOLE ENTIERE", "teachers": "mei", "teacher_count": 10, "student_count": 165}],
    "insurance": True,
    "goods_value": "0.00",
    "instruments_value": "0.00",
    "payment": {"transfer": False, "cheque": True, "other": False},
}
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def fresh_postgres_database():
    """A new, empty database for one test or module, dropped afterwards."""
    name = f"retkoop_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_settings(data_dir: Path, database_url: str | None = None, broker_url: str | None = None, **overrides) -> Settings:
    """Settings for an app built inside the test process."""
    base = load()
    return dataclasses.replace(
        base,
        data_dir=Path(data_dir),
        database_url=database_url,
        broker_url=broker_url or f"sqla+sqlite:///{Path(data_dir) / 'broker.db'}",
        secret_key="test-secret",
        admin_login="admin",
        admin_password="admin-password",
        outbox_sweep_seconds=0.5,
        **overrides,
    )


test_settings.__test__ = False  # a helper, not a test


def prepared_app(create_app, settings: Settings):
    """A service's app on a store the start-up step has migrated (and seeded)."""
    sys.modules[create_app.__module__].prepare(settings)
    return create_app(settings)


def env_for(settings: Settings, **extra) -> dict:
    """The environment that makes a subprocess (worker, server) use these settings."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update(
        PYTHONPATH=str(ROOT),
        DATA_DIR=str(settings.data_dir),
        BROKER_URL=settings.broker_url,
        SECRET_KEY=settings.secret_key,
        ADMIN_LOGIN=settings.admin_login,
        ADMIN_PASSWORD=settings.admin_password or "",
        SMTP_HOST=settings.smtp_host,
        SMTP_PORT=str(settings.smtp_port),
        PUBLIC_BASE_URL=settings.public_base_url,
        OUTBOX_SWEEP_SECONDS=str(settings.outbox_sweep_seconds),
        BROKER_VISIBILITY_TIMEOUT=str(settings.broker_visibility_timeout),
    )
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Worker:
    """A real Celery worker process consuming one service's queue."""

    def __init__(self, service: str, env: dict, concurrency: int = 1, log_dir: Path | None = None):
        self.service = service
        self.env = env
        self.concurrency = concurrency
        self.log_path = Path(log_dir or env["DATA_DIR"]) / f"worker-{service}-{uuid.uuid4().hex[:6]}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        self._log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", f"services.{self.service}.worker", "worker",
             "-Q", self.service, "-c", str(self.concurrency), "--pool", "prefork", "-l", "INFO",
             "-n", f"{self.service}-{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        return self

    def children(self) -> list[int]:
        """The pool processes that run the tasks."""
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def kill(self) -> None:
        """SIGKILL the whole worker (main process and pool), as a crash would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # warm shutdown: Celery stops its own pool
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()
        if getattr(self, "_log", None):
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def wait_for(predicate, timeout: float = 20.0, interval: float = 0.1, what: str = "condition"):
    """Poll until ``predicate()`` is truthy; returns its value or fails with ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


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
