"""The whole system as real processes for end-to-end tests: the web server (every
service behind one address) and one Celery worker per service, on PostgreSQL and Redis,
sending mail to a real aiosmtpd server owned by the test."""
import subprocess
import sys
from pathlib import Path

import requests

from deploy.redis_server import free_port

from shared.events import service_names
from tests.support import ROOT, Worker, env_for, test_settings, wait_for



class Stack:
    def __init__(self, data_dir: Path, database_url: str, broker_url: str, smtp_port: int, **env):
        self.port = free_port()
        self.settings = test_settings(
            data_dir, database_url, broker_url=broker_url, smtp_host="127.0.0.1", smtp_port=smtp_port,
            port=self.port, public_base_url=f"http://127.0.0.1:{self.port}",
        )
        self.env = env_for(self.settings, PORT=self.port, SMTP_HOST="127.0.0.1", **env)
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers: dict[str, Worker] = {}
        self.web: subprocess.Popen | None = None

    def start(self) -> "Stack":
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self._web_log = open(self.settings.data_dir / "web.log", "ab")
        subprocess.run([sys.executable, "-m", "deploy.setup"], cwd=ROOT, env=self.env, check=True,
                       stdout=self._web_log, stderr=subprocess.STDOUT)
        self.web = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{self.port}", "-w", "1", "--threads", "8",
             "deploy.wsgi:app"],
            cwd=ROOT, env=self.env, stdout=self._web_log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        wait_for(self._healthy, timeout=60, what="the web server to answer")
        for service in service_names():
            self.start_worker(service)
        return self

    def _healthy(self) -> bool:
        if self.web.poll() is not None:
            raise AssertionError("web server exited:\n" + (self.settings.data_dir / "web.log").read_text()[-3000:])
        try:
            return requests.get(f"{self.base}/api/adhesion/health", timeout=5).status_code == 200
        except requests.RequestException:  # not up yet, or slow to answer on a busy machine
            return False

    def start_worker(self, service: str, concurrency: int = 1) -> Worker:
        worker = Worker(service, self.env, concurrency=concurrency).start()
        self.workers[service] = worker
        return worker

    def stop(self) -> None:
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
