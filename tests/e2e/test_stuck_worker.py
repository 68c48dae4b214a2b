"""A worker that stays connected but stops consuming (celery#7800) is noticed and replaced
by `make run`'s supervisor within a minute, and the work it held is done.

The documents worker's main process (the one that takes messages from the broker) is
SIGSTOPped: its connection stays open and its pool lives, but it takes nothing. A
validation's rendering then waits in its queue; the supervisor sees messages waiting
and no message taken for WORKER_STUCK_SECONDS (40 s), kills it and starts it again, and
the confirmation goes out with its PDFs. The run is on Redis, where the message the
stopped worker had already taken comes back after the visibility timeout."""
import email
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from deploy.stack import free_port
from shared import liveness
from tests.support import GUIDE, ROOT, wait_for

YEAR = "2025-2026"
NUMBER = "0386001S00"
UNSET = ("DATABASE_URL", "BROKER_URL", "SMTP_HOST", "SMTP_PORT", "ADMIN_PASSWORD", "SECRET_KEY", "PUBLIC_BASE_URL",
         "WORKER_STUCK_SECONDS", "HEARTBEAT_SECONDS", "PROMETHEUS_MULTIPROC_DIR")


@pytest.fixture
def run_on_redis(tmp_path, redis_url):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in UNSET and not k.endswith("_DATABASE_URL")}
    env.update(DATA_DIR=str(tmp_path / "var"), PORT=str(port), SMTP_SINK_PORT=str(free_port()), PYTHONPATH=str(ROOT),
               BROKER_URL=redis_url, BROKER_VISIBILITY_TIMEOUT="10")
    log = open(tmp_path / "run.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "deploy.run"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up():
        assert process.poll() is None, (tmp_path / "run.log").read_text()
        try:
            return requests.get(f"{base}/api/adhesion/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(up, timeout=90, what="make run to serve")
        yield base, tmp_path / "var", tmp_path / "run.log"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def test_stopped_worker_is_replaced_and_its_work_done(run_on_redis):
    base, data_dir, log_path = run_on_redis
    password = (data_dir / "admin_password").read_text().strip()

    def call(method, path, token=None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, base + path, headers=headers, timeout=30, **kwargs)

    staff = call("post", "/api/auth/login", json={"login": "admin", "password": password}).json()["token"]
    assert call("post", "/api/adhesion/cooperatives", staff, json={
        "number": NUMBER, "name": "Coopérative Scolaire du Worker Figé", "town": "VIENNE",
        "email": "ce.0386001s@ac-grenoble.fr", "password": "ecole-secret"}).status_code == 201
    school = call("post", "/api/auth/login", json={"login": NUMBER, "password": "ecole-secret"}).json()["token"]
    assert call("put", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", school, json=GUIDE).status_code == 200
    assert call("post", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/submit", school).status_code == 200
    wait_for(lambda: call("get", f"/api/payment/dues/{NUMBER}/{YEAR}", school).status_code == 200, what="dues")
    assert call("post", "/api/payment/payments", staff, json={
        "cooperative": NUMBER, "year": YEAR, "amount": "439.25", "method": "cheque", "reference": "7",
        "received_on": "2025-09-10"}).status_code == 201
    wait_for(lambda: call("get", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", staff).json()["checklist"][
        "payment_received"], timeout=60, what="payment.received")
    assert call("patch", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/checklist", staff,
                json={"engagement_signed": True}).status_code == 200

    name = f"documents@{socket.gethostname()}"
    wait_for(lambda: liveness.last_received(data_dir, name), timeout=60, what="the documents worker's liveness file")
    stopped = liveness.seen(data_dir, within=3600)
    pid = next(w.pid for w in stopped if w.name == name)
    os.kill(pid, signal.SIGSTOP)  # connected, its pool alive, and taking nothing
    frozen_at = time.monotonic()
    try:
        assert call("post", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/validate", staff, json={}).status_code == 200

        def confirmation():
            for path in sorted((data_dir / "mail").glob("*.eml")):
                message = email.message_from_bytes(path.read_bytes())
                if message["X-Retkoop-Kind"] == "validation_confirmation":
                    return message
            return None

        wait_for(lambda: "worker-documents redémarré" in log_path.read_text(errors="replace"), timeout=75,
                 what="the supervisor to replace the stopped worker")
        replaced_after = time.monotonic() - frozen_at
        message = wait_for(confirmation, timeout=60, what="the confirmation, rendered by the new worker")
    finally:
        if os.path.exists(f"/proc/{pid}"):  # the test failed: do not leave a stopped process behind
            os.kill(pid, signal.SIGKILL)
    assert replaced_after < 60, replaced_after
    text = log_path.read_text(errors="replace")
    assert "worker-documents ne prend plus de messages depuis 40 s alors que sa file en attend" in text
    assert "worker-documents s'est arrêté (code -9)" in text
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert len([p for p in message.walk() if p.get_content_type() == "application/pdf"]) == 2
    new_pid = next(w.pid for w in liveness.seen(data_dir, within=60) if w.name == name)
    assert new_pid != pid
    # no other worker was judged stuck: each took its queue's heartbeats
    assert text.count("ne prend plus de messages") == 1
