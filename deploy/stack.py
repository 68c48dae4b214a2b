"""The whole system as real processes for end-to-end tests: the web server (every
service behind one address) and one Celery worker per service, on PostgreSQL and Redis,
sending mail to a real aiosmtpd server owned by the test."""
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import requests

from deploy.redis_server import free_port
from shared import liveness, outbox
from shared.config import Settings, load
from shared.events import queues_of, service_names

ROOT = Path(__file__).resolve().parent.parent


def stack_settings(data_dir: Path, database_url: str | None = None, broker_url: str | None = None, **overrides) -> Settings:
    """Settings for an app built inside the test process."""
    base = load()
    # never another run's server on the default port: the test's own, when it gives one
    overrides.setdefault("internal_api_url", f"http://127.0.0.1:{overrides.get('port', base.port)}")
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
        INTERNAL_API_URL=settings.internal_api_url,
        BULK_MAIL_RATE=str(settings.bulk_mail_rate),
        BROKER_VISIBILITY_TIMEOUT=str(settings.broker_visibility_timeout),
        DOCUMENTS_GIVE_UP_SECONDS=str(settings.documents_give_up_seconds),
    )
    if settings.database_url:
        env["DATABASE_URL"] = settings.database_url
    # every process of the stack counts in one folder, which /metrics adds up (docs/metrics.md)
    metrics = Path(settings.data_dir) / "metrics"
    metrics.mkdir(parents=True, exist_ok=True)
    env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Worker:
    """A real Celery worker process consuming one service's queue."""

    def __init__(self, service: str, env: dict, concurrency: int = 1, log_dir: Path | None = None,
                 queue: str | None = None, app: str | None = None):
        self.service = service
        self.queue = queue or service  # a lane of the service (notify_bulk) when given
        # the Celery app module: the service's own, or a test's wrapping it (a slower renderer)
        self.app = app or f"services.{service}.worker"
        self.env = env
        self.concurrency = concurrency
        self.log_path = Path(log_dir or env["DATA_DIR"]) / f"worker-{self.queue}-{uuid.uuid4().hex[:6]}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Worker":
        self._log = open(self.log_path, "ab")
        # the node name its liveness file carries (shared/liveness.py), and since when it runs
        self.node, self.started = f"{self.queue}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}", time.time()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", self.app, "worker",
             "-Q", self.queue, "-c", str(self.concurrency), "--pool", "prefork", "-l", "INFO",
             "-n", self.node, "--without-gossip", "--without-mingle"],
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




class Stack:
    def __init__(self, data_dir: Path, database_url: str, broker_url: str, smtp_port: int,
                 web_processes: int = 1, apps: dict[str, str] | None = None, **env):
        self.port = free_port()
        # service -> the Celery app module its workers run, when not the service's own
        self.apps = apps or {}
        # one web process is enough for the tests; a bench asks for make run's two
        self.web_processes = web_processes
        # a test's shorter visibility timeout is in the settings too, so the test can wait beyond it
        visibility = env.pop("BROKER_VISIBILITY_TIMEOUT", None)
        self.settings = stack_settings(
            data_dir, database_url, broker_url=broker_url, smtp_host="127.0.0.1", smtp_port=smtp_port,
            port=self.port, public_base_url=f"http://127.0.0.1:{self.port}",
            **({"broker_visibility_timeout": int(visibility)} if visibility else {}),
        )
        self.env = env_for(self.settings, PORT=self.port, SMTP_HOST="127.0.0.1", **env)
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers: dict[str, Worker] = {}
        self.web: subprocess.Popen | None = None
        self.replaced: list[str] = []  # the queues whose stuck worker the supervision replaced
        self._stopping = threading.Event()
        self._supervision: threading.Thread | None = None

    def start(self) -> "Stack":
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._web_log = open(self.settings.data_dir / "web.log", "ab")
        subprocess.run([sys.executable, "-m", "deploy.setup"], cwd=ROOT, env=self.env, check=True,
                       stdout=self._web_log, stderr=subprocess.STDOUT)
        self.web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{self.port}", "-w", str(self.web_processes),
             "--threads", str(8 // self.web_processes), "deploy.wsgi:app"],
            cwd=ROOT, env=self.env, stdout=self._web_log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(self._healthy, timeout=60, what="the web server to answer")
        for service in service_names():
            for queue in queues_of(service):  # a lane (notify_bulk) gets its own worker
                self.start_worker(service, queue=queue)
        return self

    def _healthy(self) -> bool:
        if self.web.poll() is not None:
            raise AssertionError("web server exited:\n" + (self.settings.data_dir / "web.log").read_text()[-3000:])
        try:
            return requests.get(f"{self.base}/api/adhesion/health", timeout=5).status_code == 200
        except requests.RequestException:  # not up yet, or slow to answer on a busy machine
            return False

    def start_worker(self, service: str, concurrency: int = 1, queue: str | None = None) -> Worker:
        worker = Worker(service, self.env, concurrency=concurrency, queue=queue,
                        app=self.apps.get(queue or service)).start()
        self.workers[queue or service] = worker
        return worker

    def supervise(self, after: float = liveness.STUCK_AFTER_SECONDS, every: float = 2.0) -> "Stack":
        """What `make run`'s supervisor does (deploy/run.py), for a test whose faults need
        it: a worker that stays connected but takes no message while its queue holds some
        (celery#7800, after a broker restart) is killed and started again, and the relays
        republish what it had popped. ``after``: seconds without a message (production: 40)."""
        self._supervision = threading.Thread(target=self._supervise, args=(after, every), daemon=True)
        self._supervision.start()
        return self

    def _supervise(self, after: float, every: float) -> None:
        broker_since = 0.0
        while not self._stopping.wait(every):
            running = {queue: (worker.node, worker.started) for queue, worker in list(self.workers.items())
                       if worker.process and worker.process.poll() is None}
            try:
                stuck = liveness.stuck_queues(self.settings.broker_url, self.settings.data_dir, running,
                                              broker_since, after=after)
            except Exception:  # the broker unreachable: nothing to judge by; the workers wait for it too
                broker_since = time.time()
                continue
            for queue in stuck:
                worker = self.workers[queue]
                print(f"supervision: {worker.node} takes no message while its queue holds some: replaced",
                      flush=True)
                worker.kill()
                self.start_worker(worker.service, concurrency=worker.concurrency, queue=queue)
                self.replaced.append(queue)
            if stuck:
                try:
                    outbox.request_republish(self.settings.broker_url)
                except Exception as exc:
                    print(f"supervision: republish not requested: {exc}", flush=True)

    def stop(self) -> None:
        self._stopping.set()
        if self._supervision:
            self._supervision.join(30)
        for worker in self.workers.values():  # all at once: their warm shutdowns overlap
            if worker.process and worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers.values():
            worker.stop()
        if self.web and self.web.poll() is None:
            self.web.terminate()
            try:
                self.web.wait(20)
            except subprocess.TimeoutExpired:
                self.web.kill()
        if getattr(self, "_web_log", None):
            self._web_log.close()

    def logs(self) -> str:
        parts = [(self.settings.data_dir / "web.log").read_text(errors="replace")[-4000:]]
        parts += [f"--- {name}\n{w.log()[-4000:]}" for name, w in self.workers.items()]
        return "\n".join(parts)

    # HTTP helpers -------------------------------------------------------------------------

    def call(self, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
        headers = kwargs.pop("headers", {})
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, f"{self.base}{path}", headers=headers, timeout=30, **kwargs)

    def login(self, login: str, password: str) -> str:
        response = self.call("post", "/api/auth/login", json={"login": login, "password": password})
        assert response.status_code == 200, response.text
        return response.json()["token"]
