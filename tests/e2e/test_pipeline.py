"""Issue 3 end to end: payment → validation → PDFs → email, each exactly once, on real
PostgreSQL, Redis, Celery workers and an aiosmtpd server — and the same under faults.
The tests share one running system and each validates its own cooperative; the worker
killed mid-render gets a system of its own (slow rendering, short visibility timeout), and
the Redis restart one on a Redis of its own (no test has to run last).
"Nothing doubled" is counted once the system is quiet (tests/quiet.py), never after a pause."""
import io
import json
import re

import psycopg
from pypdf import PdfReader

from deploy.redis_server import RedisServer
from tests.quiet import quiet
from tests.support import GUIDE, module_system, school_email, wait_for

YEAR = "2025-2026"
NAME = "Coopérative Scolaire de l'École Élémentaire Jean Moulin"
CODE = re.compile(r"26/\d{4} A\Z")
SLOW_DOCUMENTS = {"documents": "tests.workers.slow_documents"}  # each rendering preceded by a pause


def confirmations(sink, number):
    return [m for m in sink.messages()
            if m["X-Retkoop-Kind"] == "validation_confirmation" and m["To"] == school_email(number)]


def ready_to_validate(stack, number):
    """The guide's example submitted, paid in two parts and its engagement ticked."""
    staff = stack.login("admin", "admin-password")
    created = stack.call("post", "/api/adhesion/cooperatives", staff, json={
        "number": number, "name": NAME, "town": "VIENNE", "email": school_email(number), "password": "ecole-secret"})
    assert created.status_code == 201, created.text
    school = stack.login(number, "ecole-secret")
    assert stack.call("put", f"/api/adhesion/adhesions/{number}/{YEAR}", school, json=GUIDE).status_code == 200
    assert stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/submit", school).json()["status"] == "submitted"
    dues = wait_for(lambda: _ok(stack.call("get", f"/api/payment/dues/{number}/{YEAR}", school)), what="the dues")
    assert dues["amount_due"] == "439.25" and dues["status"] == "unpaid"
    return staff, school


def _ok(response):
    return response.json() if response.status_code == 200 else None


def pay(stack, staff, number, amount, reference):
    response = stack.call("post", "/api/payment/payments", staff, json={
        "cooperative": number, "year": YEAR, "amount": amount, "method": "cheque", "reference": reference,
        "received_on": "2025-09-12"})
    assert response.status_code == 201, response.text


def paid_and_signed(stack, staff, school, number):
    pay(stack, staff, number, "200.00", "1234567")
    assert stack.call("get", f"/api/payment/dues/{number}/{YEAR}", school).json()["status"] == "partial"
    pay(stack, staff, number, "239.25", "1234568")
    assert stack.call("get", f"/api/payment/dues/{number}/{YEAR}", school).json()["status"] == "paid"
    wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{number}/{YEAR}", staff).json()["checklist"][
        "payment_received"], what="payment.received to reach the checklist")
    assert stack.call("patch", f"/api/adhesion/adhesions/{number}/{YEAR}/checklist", staff,
                      json={"engagement_signed": True}).status_code == 200


def validate(stack, staff, number):
    response = stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/validate", staff, json={})
    assert response.status_code == 200, response.text
    code = response.json()["registration_code"]
    assert CODE.match(code), code
    return code


def documents_of(stack, token, number):
    return stack.call("get", f"/api/documents/{number}/{YEAR}", token).json()["documents"]


def assert_one_of_each(stack, sink, school, number, code, beyond_visibility=False):
    """One attestation, one certificate, one email with both: nothing missing, nothing doubled
    (counted once nothing is in flight any more, beyond the visibility timeout when a
    redelivery is the risk)."""
    docs = wait_for(lambda: len(documents_of(stack, school, number)) == 2 and documents_of(stack, school, number),
                    timeout=60, what="both documents")
    assert sorted(d["kind"] for d in docs) == ["attestation", "certificate"]
    stored = []
    for kind in ("attestation", "certificate"):
        response = stack.call("get", f"/api/documents/{number}/{YEAR}/{kind}.pdf", school)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/pdf")
        stored.append(response.content)
        # lines wrap wherever the layout breaks them: compare on single spaces
        text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages).split())
        for expected in (NAME, number, YEAR, code, "175", "439,25 €" if kind == "attestation" else "43,75 €"):
            assert expected in text, (kind, expected)
    wait_for(lambda: confirmations(sink, number), timeout=90, what="the confirmation email")
    quiet(stack, beyond_visibility=beyond_visibility)
    assert len(documents_of(stack, school, number)) == 2
    mails = confirmations(sink, number)
    assert len(mails) == 1
    mail = mails[0]
    assert mail["Subject"] == f"Votre adhésion et votre assurance {YEAR} sont validées : {NAME} ({number})"
    assert mail["To"] == school_email(number)
    attachments = [part.get_filename() for part in mail.iter_attachments()]
    # the names the downloads give the same files
    assert attachments == [f"attestation-adhésion-{number}-{YEAR}.pdf", f"certificat-assurance-{number}-{YEAR}.pdf"]
    # fetched by notify from the documents API (claim check): the very PDFs the school downloads
    assert [part.get_content() for part in mail.iter_attachments()] == stored
    return mail


def test_payment_validation_documents_email(stack, sink, number):
    staff, school = ready_to_validate(stack, number)
    pay(stack, staff, number, "200.00", "1234567")
    dues = stack.call("get", f"/api/payment/dues/{number}/{YEAR}", school).json()
    assert (dues["status"], dues["balance"], dues["amount_paid"]) == ("partial", "239.25", "200.00")
    wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{number}/{YEAR}", staff).json()["checklist"][
        "amount_paid"] == "200.00", what="the partial payment in the checklist")
    stack.call("patch", f"/api/adhesion/adhesions/{number}/{YEAR}/checklist", staff, json={"engagement_signed": True})
    refused = stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/validate", staff, json={})
    assert refused.status_code == 409 and refused.json()["unmet"] == ["payment"]
    pay(stack, staff, number, "239.25", "1234568")
    assert stack.call("get", f"/api/payment/dues/{number}/{YEAR}", school).json()["status"] == "paid"
    wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{number}/{YEAR}", staff).json()["checklist"][
        "payment_received"], what="payment.received")
    code = validate(stack, staff, number)
    assert_one_of_each(stack, sink, school, number, code)
    log = wait_for(lambda: [m for m in stack.call("get", f"/api/notify/messages?cooperative={number}", staff).json()[
        "items"] if m["kind"] == "validation_confirmation" and m["status"] == "sent"], what="the log to show it sent")
    assert len(log) == 1 and log[0]["message_id"]
    # a school never reads another cooperative's PDF, and /verify says only what it must
    other = stack.call("post", "/api/adhesion/cooperatives", staff, json={
        "number": "0380001A00", "name": "Autre", "town": "GRENOBLE", "email": "a@ac-grenoble.fr", "password": "autre-secret"})
    assert other.status_code == 201
    intruder = stack.login("0380001A00", "autre-secret")
    assert stack.call("get", f"/api/documents/{number}/{YEAR}/attestation.pdf", intruder).status_code == 403
    token = None
    for doc in documents_of(stack, school, number):
        assert doc["url"].endswith(f"/{doc['kind']}.pdf")
    pdf = stack.call("get", f"/api/documents/{number}/{YEAR}/attestation.pdf", school).content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    token = text.split("/verify/", 1)[1].split()[0].strip()
    verified = stack.call("get", f"/verify/{token}", headers={"Accept": "application/json"})
    assert verified.status_code == 200
    assert verified.json() == {"valid": True, "cooperative": NAME, "year": YEAR, "kind": "attestation"}
    unknown = stack.call("get", "/verify/unknown-token", headers={"Accept": "application/json"})
    assert unknown.status_code == 404 and unknown.json() == {"valid": False}


def test_smtp_down_then_up(stack, sink, number):
    staff, school = ready_to_validate(stack, number)
    paid_and_signed(stack, staff, school, number)
    sink.stop()
    try:
        code = validate(stack, staff, number)
        failed = wait_for(lambda: [m for m in stack.call("get", f"/api/notify/messages?cooperative={number}", staff).json()[
            "items"] if m["kind"] == "validation_confirmation" and m["attempts"] >= 2], timeout=60,
            what="the email to be retried while SMTP is down")
        assert failed[0]["status"] != "sent"
    finally:
        sink.start()
    assert_one_of_each(stack, sink, school, number, code)
    log = wait_for(lambda: [m for m in stack.call("get", f"/api/notify/messages?cooperative={number}", staff).json()[
        "items"] if m["kind"] == "validation_confirmation" and m["status"] == "sent"], timeout=90, what="sent")
    assert log[0]["attempts"] >= 3


def test_same_events_delivered_twice(stack, sink, number):
    """adhesion.validated and documents.generated re-delivered: still one of each."""
    from celery import Celery

    staff, school = ready_to_validate(stack, number)
    paid_and_signed(stack, staff, school, number)
    code = validate(stack, staff, number)
    assert_one_of_each(stack, sink, school, number, code)
    mine = f"%{number}%"
    with psycopg.connect(stack.settings.database_url) as conn:
        envelopes = [row[0] for row in conn.execute(
            "SELECT payload FROM adhesion.outbox WHERE type = 'adhesion.validated' AND payload::text LIKE %s "
            "UNION ALL SELECT payload FROM documents.outbox WHERE type = 'documents.generated' AND payload::text LIKE %s",
            (mine, mine))]
    assert len(envelopes) == 2
    broker = Celery(broker=stack.settings.broker_url)
    for payload in envelopes:
        envelope = json.loads(payload)
        task = "documents.on_adhesion_validated" if envelope["type"] == "adhesion.validated" else \
            "notify.on_documents_generated"
        broker.send_task(task, args=[envelope], queue=task.split(".")[0])
    assert_one_of_each(stack, sink, school, number, code)
    with psycopg.connect(stack.settings.database_url) as conn:
        assert conn.execute("SELECT count(*) FROM documents.documents WHERE cooperative = %s", (number,)).fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM documents.outbox WHERE payload::text LIKE %s", (mine,)).fetchone()[0] == 1


def test_redis_down_when_staff_validate(tmp_path_factory, number):
    """A system on a Redis of its own, restarted while staff validate: the shared system's
    broker is never touched, so this test may run in any order."""
    broker = RedisServer().start()
    try:
        with module_system(tmp_path_factory, broker, "redis-restart") as (stack, sink):
            staff, school = ready_to_validate(stack, number)
            paid_and_signed(stack, staff, school, number)
            broker.stop()
            try:
                code = validate(stack, staff, number)  # the state change and its event commit without the broker
                # the relay has tried to publish it and kept it: nothing can have reached documents
                wait_for(lambda: relay_attempts(stack, number) >= 1, timeout=90,
                         what="the relay to try and keep the event")
                assert documents_of(stack, school, number) == []
            finally:
                broker.start()
            assert_one_of_each(stack, sink, school, number, code)
    finally:
        broker.close()


def relay_attempts(stack, number) -> int:
    """How often adhesion's relay tried to publish the events of ``number``'s validation
    (the event and its audit record, the oldest first: the relay stops at the first it
    cannot publish), while they are still pending."""
    with psycopg.connect(stack.settings.database_url) as conn:
        row = conn.execute("SELECT max(attempts) FROM adhesion.outbox WHERE type IN ('adhesion.validated', "
                           "'audit.recorded') AND published_at IS NULL AND payload::text LIKE %s",
                           (f"%{number}%",)).fetchone()
    return row[0] or 0


def test_documents_worker_killed_during_rendering(tmp_path_factory, redis_server, number):
    with module_system(tmp_path_factory, redis_server, "killed-worker", db=1, apps=SLOW_DOCUMENTS,
                       TEST_RENDER_DELAY_SECONDS="3", BROKER_VISIBILITY_TIMEOUT="8") as (stack, sink):
        staff, school = ready_to_validate(stack, number)
        paid_and_signed(stack, staff, school, number)
        code = validate(stack, staff, number)
        worker = stack.workers["documents"]
        wait_for(lambda: "reserved, rendering" in worker.log(), what="rendering to start")
        worker.kill()  # SIGKILL the whole worker in the middle of rendering
        assert documents_of(stack, school, number) == []
        stack.start_worker("documents")
        assert_one_of_each(stack, sink, school, number, code, beyond_visibility=True)
