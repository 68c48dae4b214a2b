"""Issue 3 end to end: payment → validation → PDFs → email, each exactly once, on real
PostgreSQL, Redis, Celery workers and an aiosmtpd server — and the same under faults."""
import io
import json
import os
import subprocess
import time

import pytest
from pypdf import PdfReader

from deploy.smtp_sink import MailSink
from deploy.stack import Stack, free_port
from tests.support import GUIDE, wait_for

NUMBER = "0382296P00"
YEAR = "2025-2026"
NAME = "Coopérative Scolaire de l'École Élémentaire Jean Moulin"


@pytest.fixture
def sink(tmp_path):
    sink = MailSink(tmp_path / "mailbox", port=free_port())
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def stack(tmp_path, pg_url, redis_url, sink):
    stack = Stack(tmp_path / "data", pg_url, redis_url, sink.port, DOCUMENTS_RENDER_DELAY_SECONDS=os.environ.get(
        "E2E_RENDER_DELAY", "0"))
    try:
        yield stack.start()
    finally:
        stack.stop()


def confirmations(sink):
    return [m for m in sink.messages() if m["X-Retkoop-Kind"] == "validation_confirmation"]


def ready_to_validate(stack):
    """The guide's example submitted, paid in two parts and its engagement ticked."""
    staff = stack.login("admin", "admin-password")
    created = stack.call("post", "/api/adhesion/cooperatives", staff, json={
        "number": NUMBER, "name": NAME, "town": "VIENNE", "email": "ce.0382296p@ac-grenoble.fr", "password": "ecole-secret"})
    assert created.status_code == 201, created.text
    school = stack.login(NUMBER, "ecole-secret")
    assert stack.call("put", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", school, json=GUIDE).status_code == 200
    assert stack.call("post", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/submit", school).json()["status"] == "submitted"
    dues = wait_for(lambda: _ok(stack.call("get", f"/api/payment/dues/{NUMBER}/{YEAR}", school)), what="the dues")
    assert dues["amount_due"] == "439.25" and dues["status"] == "unpaid"
    return staff, school


def _ok(response):
    return response.json() if response.status_code == 200 else None


def pay(stack, staff, amount, reference):
    response = stack.call("post", "/api/payment/payments", staff, json={
        "cooperative": NUMBER, "year": YEAR, "amount": amount, "method": "cheque", "reference": reference,
        "received_on": "2025-09-12"})
    assert response.status_code == 201, response.text


def paid_and_signed(stack, staff, school):
    pay(stack, staff, "200.00", "1234567")
    assert stack.call("get", f"/api/payment/dues/{NUMBER}/{YEAR}", school).json()["status"] == "partial"
    pay(stack, staff, "239.25", "1234568")
    assert stack.call("get", f"/api/payment/dues/{NUMBER}/{YEAR}", school).json()["status"] == "paid"
    wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", staff).json()["checklist"][
        "payment_received"], what="payment.received to reach the checklist")
    assert stack.call("patch", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/checklist", staff,
                      json={"engagement_signed": True}).status_code == 200


def validate(stack, staff):
    response = stack.call("post", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/validate", staff, json={})
    assert response.status_code == 200, response.text
    return response.json()["registration_code"]


def documents_of(stack, token):
    return stack.call("get", f"/api/documents/{NUMBER}/{YEAR}", token).json()["documents"]


def assert_one_of_each(stack, sink, school, code):
    """One attestation, one certificate, one email with both: nothing missing, nothing doubled."""
    docs = wait_for(lambda: len(documents_of(stack, school)) == 2 and documents_of(stack, school),
                    timeout=60, what="both documents")
    assert sorted(d["kind"] for d in docs) == ["attestation", "certificate"]
    stored = []
    for kind in ("attestation", "certificate"):
        response = stack.call("get", f"/api/documents/{NUMBER}/{YEAR}/{kind}.pdf", school)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/pdf")
        stored.append(response.content)
        # lines wrap wherever the layout breaks them: compare on single spaces
        text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages).split())
        for expected in (NAME, NUMBER, YEAR, code, "175", "439,25 €" if kind == "attestation" else "43,75 €"):
            assert expected in text, (kind, expected)
    mails = wait_for(lambda: confirmations(sink), timeout=90, what="the confirmation email")
    time.sleep(1.5)  # a duplicate would arrive right behind the first
    mails = confirmations(sink)
    assert len(mails) == 1
    mail = mails[0]
    assert mail["Subject"] == f"Votre adhésion et votre assurance {YEAR} sont validées : {NAME} ({NUMBER})"
    assert mail["To"] == "ce.0382296p@ac-grenoble.fr"
    attachments = [part.get_filename() for part in mail.iter_attachments()]
    # the names the downloads give the same files
    assert attachments == [f"attestation-adhésion-{NUMBER}-{YEAR}.pdf", f"certificat-assurance-{NUMBER}-{YEAR}.pdf"]
    # fetched by notify from the documents API (claim check): the very PDFs the school downloads
    assert [part.get_content() for part in mail.iter_attachments()] == stored
    return mail


def test_payment_validation_documents_email(stack, sink):
    staff, school = ready_to_validate(stack)
    pay(stack, staff, "200.00", "1234567")
    dues = stack.call("get", f"/api/payment/dues/{NUMBER}/{YEAR}", school).json()
    assert (dues["status"], dues["balance"], dues["amount_paid"]) == ("partial", "239.25", "200.00")
    wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", staff).json()["checklist"][
        "amount_paid"] == "200.00", what="the partial payment in the checklist")
    stack.call("patch", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/checklist", staff, json={"engagement_signed": True})
    refused = stack.call("post", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/validate", staff, json={})
    assert refused.status_code == 409 and refused.json()["unmet"] == ["payment"]
    pay(stack, staff, "239.25", "1234568")
    assert stack.call("get", f"/api/payment/dues/{NUMBER}/{YEAR}", school).json()["status"] == "paid"
    wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", staff).json()["checklist"][
        "payment_received"], what="payment.received")
    code = validate(stack, staff)
    assert code == "26/0001 A"
    assert_one_of_each(stack, sink, school, code)
    log = wait_for(lambda: [m for m in stack.call("get", f"/api/notify/messages?cooperative={NUMBER}", staff).json()[
        "items"] if m["kind"] == "validation_confirmation" and m["status"] == "sent"], what="the log to show it sent")
    assert len(log) == 1 and log[0]["message_id"]
    # a school never reads another cooperative's PDF, and /verify says only what it must
    other = stack.call("post", "/api/adhesion/cooperatives", staff, json={
        "number": "0380001A00", "name": "Autre", "town": "GRENOBLE", "email": "a@ac-grenoble.fr", "password": "autre-secret"})
    assert other.status_code == 201
    intruder = stack.login("0380001A00", "autre-secret")
    assert stack.call("get", f"/api/documents/{NUMBER}/{YEAR}/attestation.pdf", intruder).status_code == 403
    token = None
    for doc in documents_of(stack, school):
        assert doc["url"].endswith(f"/{doc['kind']}.pdf")
    pdf = stack.call("get", f"/api/documents/{NUMBER}/{YEAR}/attestation.pdf", school).content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    token = text.split("/verify/", 1)[1].split()[0].strip()
    verified = stack.call("get", f"/verify/{token}", headers={"Accept": "application/json"})
    assert verified.status_code == 200
    assert verified.json() == {"valid": True, "cooperative": NAME, "year": YEAR, "kind": "attestation"}
    unknown = stack.call("get", "/verify/unknown-token", headers={"Accept": "application/json"})
    assert unknown.status_code == 404 and unknown.json() == {"valid": False}


def test_documents_worker_killed_during_rendering(tmp_path, pg_url, redis_url, sink):
    stack = Stack(tmp_path / "data", pg_url, redis_url, sink.port, DOCUMENTS_RENDER_DELAY_SECONDS="3",
                  BROKER_VISIBILITY_TIMEOUT="10")
    try:
        stack.start()
        staff, school = ready_to_validate(stack)
        paid_and_signed(stack, staff, school)
        code = validate(stack, staff)
        worker = stack.workers["documents"]
        wait_for(lambda: "reserved, rendering" in worker.log(), what="rendering to start")
        worker.kill()  # SIGKILL the whole worker in the middle of rendering
        assert documents_of(stack, school) == []
        stack.start_worker("documents")
        assert_one_of_each(stack, sink, school, code)
    finally:
        stack.stop()


def test_smtp_down_then_up(stack, sink):
    staff, school = ready_to_validate(stack)
    paid_and_signed(stack, staff, school)
    sink.stop()
    code = validate(stack, staff)
    failed = wait_for(lambda: [m for m in stack.call("get", f"/api/notify/messages?cooperative={NUMBER}", staff).json()[
        "items"] if m["kind"] == "validation_confirmation" and m["attempts"] >= 2], timeout=60,
        what="the email to be retried while SMTP is down")
    assert failed[0]["status"] != "sent"
    sink.start()
    assert_one_of_each(stack, sink, school, code)
    log = wait_for(lambda: [m for m in stack.call("get", f"/api/notify/messages?cooperative={NUMBER}", staff).json()[
        "items"] if m["kind"] == "validation_confirmation" and m["status"] == "sent"], timeout=90, what="sent")
    assert log[0]["attempts"] >= 3


def test_redis_down_when_staff_validate(stack, sink, redis_server):
    staff, school = ready_to_validate(stack)
    paid_and_signed(stack, staff, school)
    redis_server.stop()  # this session's own Redis: no other test run is disturbed
    try:
        code = validate(stack, staff)  # the state change and its event commit without the broker
        time.sleep(3)
        assert documents_of(stack, school) == []
    finally:
        redis_server.start()
    assert_one_of_each(stack, sink, school, code)


def test_same_events_delivered_twice(stack, sink, pg_url):
    """adhesion.validated and documents.generated re-delivered: still one of each."""
    import psycopg
    from celery import Celery

    staff, school = ready_to_validate(stack)
    paid_and_signed(stack, staff, school)
    code = validate(stack, staff)
    assert_one_of_each(stack, sink, school, code)
    with psycopg.connect(pg_url) as conn:
        envelopes = [row[0] for row in conn.execute(
            "SELECT payload FROM adhesion.outbox WHERE type = 'adhesion.validated' UNION ALL "
            "SELECT payload FROM documents.outbox WHERE type = 'documents.generated'")]
    assert len(envelopes) == 2
    broker = Celery(broker=stack.settings.broker_url)
    for payload in envelopes:
        envelope = json.loads(payload)
        task = "documents.on_adhesion_validated" if envelope["type"] == "adhesion.validated" else \
            "notify.on_documents_generated"
        broker.send_task(task, args=[envelope], queue=task.split(".")[0])
    time.sleep(5)
    assert_one_of_each(stack, sink, school, code)
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT count(*) FROM documents.documents").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM documents.outbox").fetchone()[0] == 1
