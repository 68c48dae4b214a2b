"""`make run` on the embedded defaults: SQLite, the broker under DATA_DIR with real
worker processes, the local SMTP sink saving .eml files; SIGTERM stops everything."""
import email
import os
import signal
import stat
import subprocess
import sys
from datetime import date

import pytest
import requests

from deploy.stack import free_port
from tests.support import GUIDE, ROOT, wait_for

YEAR = "2025-2026"
NUMBER = "0382296P00"
UNSET = ("DATABASE_URL", "BROKER_URL", "SMTP_HOST", "SMTP_PORT", "ADMIN_PASSWORD", "SECRET_KEY", "PUBLIC_BASE_URL")


@pytest.fixture
def embedded(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in UNSET and not k.endswith("_DATABASE_URL")}
    env.update(DATA_DIR=str(tmp_path / "var"), PORT=str(port), SMTP_SINK_PORT=str(free_port()), PYTHONPATH=str(ROOT))
    log = open(tmp_path / "run.log", "wb")
    process = subprocess.Popen([sys.executable, "-m", "deploy.run"], cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"

    def up():
        assert process.poll() is None, (tmp_path / "run.log").read_text()
        try:
            return all(requests.get(f"{base}/api/{s}/health", timeout=5).status_code == 200
                       for s in ("adhesion", "payment", "documents", "notify", "ledger"))
        except requests.RequestException:  # not listening yet, or still starting
            return False

    try:
        wait_for(up, timeout=60, what="make run to serve every service")
        yield base, tmp_path / "var", process
    finally:
        if process.poll() is None:  # the test failed early: the supervisor stops its children
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()  # its children get SIGTERM from the kernel (PR_SET_PDEATHSIG)
        log.close()


def test_embedded_run_pipeline_and_clean_stop(embedded):
    base, data_dir, process = embedded
    password = (data_dir / "admin_password").read_text().strip()

    def call(method, path, token=None, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, base + path, headers=headers, timeout=30, **kwargs)

    staff = call("post", "/api/auth/login", json={"login": "admin", "password": password}).json()["token"]
    restarted_documents_worker(process, data_dir.parent / "run.log")  # the pipeline below then needs it
    assert call("post", "/api/adhesion/cooperatives", staff, json={
        "number": NUMBER, "name": "Coopérative Scolaire Jean Moulin", "town": "VIENNE",
        "email": "ce.0382296p@ac-grenoble.fr", "password": "ecole-secret"}).status_code == 201
    school = call("post", "/api/auth/login", json={"login": NUMBER, "password": "ecole-secret"}).json()["token"]
    assert call("put", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", school, json=GUIDE).status_code == 200
    assert call("post", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/submit", school).status_code == 200
    wait_for(lambda: call("get", f"/api/payment/dues/{NUMBER}/{YEAR}", school).status_code == 200, what="dues")
    assert call("post", "/api/payment/payments", staff, json={
        "cooperative": NUMBER, "year": YEAR, "amount": "439.25", "method": "cheque", "reference": "42",
        "received_on": "2025-09-10"}).status_code == 201
    wait_for(lambda: call("get", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", staff).json()["checklist"][
        "payment_received"], what="payment.received")
    call("patch", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/checklist", staff, json={"engagement_signed": True})
    assert call("post", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/validate", staff, json={}).status_code == 200

    def confirmation():
        for path in sorted((data_dir / "mail").glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes())
            if message["X-Retkoop-Kind"] == "validation_confirmation":
                return message
        return None

    message = wait_for(confirmation, timeout=60, what="the confirmation .eml in DATA_DIR/mail")
    book = f"/api/ledger/books/{NUMBER}/{YEAR}"
    proposal = wait_for(lambda: call("get", f"{book}/adhesion-entry", school).status_code == 200, timeout=60,
                        what="the ledger worker to propose the adhesion entry") and \
        call("get", f"{book}/adhesion-entry", school).json()
    assert (proposal["amount"], proposal["first_entry"]) == ("439.25", True)
    written = call("post", f"{book}/adhesion-entry", school, json={"date": "2025-09-20", "cheque_number": "1234567"})
    assert written.status_code == 201 and written.json()["piece"] == "D01"
    assert len([p for p in message.walk() if p.get_content_type() == "application/pdf"]) == 2
    # today's school year opened on first start, with the last known rates (staff may change them)
    today = date.today()
    current = f"{today.year}-{today.year + 1}" if today.month >= 9 else f"{today.year - 1}-{today.year}"
    rates = call("get", f"/api/adhesion/rates/{current}", staff)
    assert rates.status_code == 200 and rates.json()["fee_per_student"] == "2.26"
    assert (data_dir / "adhesion.db").exists() and (data_dir / "ledger.db").exists() and (data_dir / "broker.db").exists()
    # The signing key, the databases, the broker, the PDFs and the emails: the owner's only.
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    for path in data_dir.rglob("*"):
        mode = stat.S_IMODE(path.lstat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path.relative_to(data_dir)} is {oct(mode)}"
    assert {"secret_key", "admin_password", "auth.db"} <= {p.name for p in data_dir.iterdir()}
    assert list((data_dir / "mail").glob("*.eml")) and list((data_dir / "documents").rglob("*.pdf"))

    children = subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split()
    assert len(children) == 11  # web, seven workers (six services + the bulk mail lane), two beats, the SMTP sink
    log = (data_dir.parent / "run.log").read_text()
    # the sink says one line per email, not aiosmtpd's dozen
    mails = len(list((data_dir / "mail").glob("*.eml")))
    assert len([line for line in log.splitlines() if "smtp-sink" in line and "saved as" in line]) == mails
    assert not [line for line in log.splitlines() if "mail.log" in line or ">> b'" in line]
    # issue 25: no broker table raced to by a dozen processes, no warning nobody can act on
    assert "already exists" not in log and "superuser privileges" not in log and "Traceback" not in log
    # the staff password comes after the start-up noise, in a frame
    start_up = log.split("Retkoop adhésion : http://", 1)[1].splitlines()
    framed = [line for line in start_up[:6] if line.startswith("║")]
    assert framed and f"« {password} »" in framed[0]
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    alive = [pid for pid in children if os.path.exists(f"/proc/{pid}")]
    assert alive == [], "processes left running after SIGTERM"


def restarted_documents_worker(process, log_path):
    """A child that crashes is started again after a pause, the console says so, and the
    supervisor and the other children keep running."""
    def documents_worker():
        for pid in subprocess.run(["pgrep", "-P", str(process.pid)], capture_output=True, text=True).stdout.split():
            if b"services.documents.worker" in open(f"/proc/{pid}/cmdline", "rb").read():
                return int(pid)
        return None

    crashed = documents_worker()
    os.killpg(crashed, signal.SIGKILL)  # the worker and its pool, as a crash would
    wait_for(lambda: "worker-documents redémarré" in log_path.read_text(errors="replace"), timeout=30,
             what="the supervisor to restart the worker")
    text = log_path.read_text(errors="replace")
    assert "worker-documents s'est arrêté (code -9) : redémarrage dans 1 s." in text
    assert process.poll() is None
    assert documents_worker() not in (None, crashed)
