"""The notify service on SQLite and PostgreSQL, with the real Redis broker, a real Celery
worker and a real aiosmtpd server (MailSink) to read the emails back."""
from contracts import documents as documents_events
from contracts import adhesion as adhesion_events
import base64
import threading
import time
from contextlib import contextmanager

import pytest

from deploy.redis_server import free_port
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from services.notify.app import create_app
from services.notify.handlers import on_adhesion_submitted, on_correction_requested, on_documents_generated
from services.notify.models import Message, ProcessedEvent
from shared.auth import Principal
from shared.service import shutdown
from deploy.smtp_sink import MailSink
from tests.support import prepared_app, Worker, bearer_for, env_for, sessions_open, test_settings, wait_for

NUMBER = "0382296P00"
YEAR = "2025-2026"
TO = "ce.0382296p@ac-grenoble.fr"
COOPERATIVE = {"number": NUMBER, "name": "École Élémentaire Jean Moulin", "town": "VIENNE", "email": TO,
               "department": "38"}
DEPARTMENT = {"code": "38", "name": "OCCE de l'Isère", "insurer": "MAE – MAIF", "insurer_contract": "0000001"}
ATTESTATION = b"%PDF-1.4\n% attestation\n%%EOF\n" + bytes(range(256))
CERTIFICATE = b"%PDF-1.4\n% certificat\n%%EOF\n" + bytes(range(255, -1, -1))



def submitted(revision=1, cooperative=COOPERATIVE, department=DEPARTMENT) -> dict:
    return adhesion_events.SUBMITTED.build({
        "cooperative": cooperative, "department": department, "year": YEAR, "revision": revision,
        "amount_due": "439.25",
        "amounts": {"membership": "395.50", "insurance": "43.75", "goods": "0.00", "instruments": "0.00",
                    "total": "439.25"},
        "totals": {"teachers": 10, "students": 165, "cooperators": 175},
        "insurance": True, "payment": {"transfer": False, "cheque": True, "other": False}, "late": False,
    }).to_dict()


def correction(revision=2, message="Merci de préciser le nombre d'élèves de CM2.") -> dict:
    return adhesion_events.CORRECTION_REQUESTED.build({
        "cooperative": COOPERATIVE, "department": DEPARTMENT, "year": YEAR, "revision": revision, "message": message,
    }).to_dict()


def generated(version=1, insurance=True) -> dict:
    documents = [("attestation", "ATT-38-2025-0001", ATTESTATION)]
    if insurance:
        documents.append(("certificate", "CERT-38-2025-0001", CERTIFICATE))
    return documents_events.GENERATED.build({
        "cooperative": COOPERATIVE, "department": DEPARTMENT, "year": YEAR, "registration_code": "26/0001 A",
        "version": version, "insurance": insurance, "amount_paid": "439.25",
        "documents": [{"kind": kind, "number": number, "filename": f"{kind}-{NUMBER}-{YEAR}.pdf",
                       "pdf_base64": base64.b64encode(pdf).decode()} for kind, number, pdf in documents],
    }).to_dict()


def token(**principal) -> dict:
    values = {"login": "admin", "role": "staff", "department": "38", **principal}
    return bearer_for(Principal(**values))


STAFF = token()
SCHOOL = token(login=NUMBER, role="school", cooperative=NUMBER)


@pytest.fixture
def sink(tmp_path):
    with MailSink(tmp_path / "mail", port=free_port()) as running:
        yield running


@pytest.fixture
def settings(tmp_path, database_url, redis_url, sink):
    return test_settings(tmp_path, database_url, broker_url=redis_url, smtp_host="127.0.0.1", smtp_port=sink.port)


@pytest.fixture
def app(settings):
    app = prepared_app(create_app, settings)
    with sessions_open(app):
        yield app
    shutdown(app)


def deliver(app, task, envelope):
    with app.app_context():
        return task(envelope)


def rows(app) -> list[Message]:
    with app.extensions["service"].database.session() as session:
        return session.scalars(select(Message).order_by(Message.id)).all()


def log(app, headers=STAFF, **query):
    with sessions_open(app):
        response = app.test_client().get("/api/notify/messages", query_string=query, headers=headers)
    assert response.status_code == 200, response.json
    return response.json["items"]


def test_submission_ack_read_back(app, sink):
    assert deliver(app, on_adhesion_submitted, submitted(revision=3)) == "sent"
    [mail] = sink.messages()
    assert mail["Subject"] == "Retkoop – Adhésion 2025-2026 : saisie reçue"
    assert mail["To"] == TO and mail["X-Envelope-To"] == TO
    assert mail["Message-ID"] == f"<submission-{NUMBER}-{YEAR}-r3@retkoop.local>"
    text = mail.get_body(("plain",)).get_content()
    assert "439,25 €" in text and "par chèque" in text
    assert list(mail.iter_attachments()) == []
    [item] = log(app, cooperative=NUMBER)
    assert (item["kind"], item["status"], item["attempts"], item["to"]) == ("submission_ack", "sent", 1, TO)
    assert item["message_id"] == mail["Message-ID"] and item["sent_at"] and item["last_error"] is None


def test_correction_carries_the_staff_message(app, sink):
    assert deliver(app, on_correction_requested, correction(message="Il manque la classe de CM2.\nMerci !")) == "sent"
    [mail] = sink.messages()
    assert mail["Subject"] == "Retkoop – Adhésion 2025-2026 : correction demandée"
    assert "Il manque la classe de CM2." in mail.get_body(("plain",)).get_content()
    assert "Il manque la classe de CM2.<br>" in mail.get_body(("html",)).get_content()
    assert log(app)[0]["kind"] == "correction_requested"


@pytest.mark.parametrize("insurance", [True, False])
def test_confirmation_with_the_pdfs_of_the_event(app, sink, insurance):
    assert deliver(app, on_documents_generated, generated(insurance=insurance)) == "sent"
    [mail] = sink.messages()
    assert mail["Subject"] == "Votre adhésion et votre assurance 2025-2026 sont validées : École Élémentaire Jean Moulin (0382296P00)"
    assert mail["Message-ID"] == f"<validation-{NUMBER}-{YEAR}-v1@retkoop.local>"
    assert "26/0001 A" in mail.get_body(("plain",)).get_content()
    attachments = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    expected = {f"attestation-{NUMBER}-{YEAR}.pdf": ATTESTATION}
    if insurance:
        expected[f"certificate-{NUMBER}-{YEAR}.pdf"] = CERTIFICATE
    assert attachments == expected
    assert all(part.get_content_type() == "application/pdf" for part in mail.iter_attachments())
    [row] = rows(app)
    assert (row.key, row.status, row.attempts) == (f"validation_confirmation:{NUMBER}:{YEAR}:v1", "sent", 1)


def test_same_validation_twice_gives_one_email(app, sink):
    envelope = generated()
    assert deliver(app, on_documents_generated, envelope) == "sent"
    assert deliver(app, on_documents_generated, envelope) == "sent"  # re-delivered
    assert deliver(app, on_documents_generated, generated()) == "sent"  # same validation, new event id
    time.sleep(0.5)
    assert len(sink.messages()) == 1
    assert len(rows(app)) == 1 and rows(app)[0].attempts == 1
    # a re-validation after a reopen is a new version: one new email
    assert deliver(app, on_documents_generated, generated(version=2)) == "sent"
    assert [m["Message-ID"] for m in sink.messages()] == [
        f"<validation-{NUMBER}-{YEAR}-v1@retkoop.local>", f"<validation-{NUMBER}-{YEAR}-v2@retkoop.local>"]


def test_concurrent_deliveries_send_once(app, sink):
    envelope, other = generated(), generated()  # one event twice, and another event for the same email
    errors = []

    def run(payload):
        try:
            deliver(app, on_documents_generated, payload)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(payload,)) for payload in (envelope, envelope, other, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    time.sleep(0.5)
    assert len(sink.messages()) == 1
    [row] = rows(app)
    assert (row.status, row.attempts) == ("sent", 1)
    with app.extensions["service"].database.session() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 2


def test_outdated_acknowledgement_sends_nothing(app, sink):
    deliver(app, on_correction_requested, correction(revision=6))
    assert deliver(app, on_adhesion_submitted, submitted(revision=5)) == "skipped"  # arrived late
    assert deliver(app, on_adhesion_submitted, submitted(revision=7)) == "sent"
    assert [row.key for row in rows(app)] == [
        f"correction_requested:{NUMBER}:{YEAR}:r6", f"submission_ack:{NUMBER}:{YEAR}:r7"]
    assert len(sink.messages()) == 2


def test_permanent_refusal_is_failed_without_retry(tmp_path, database_url, redis_url):
    class Refuse:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 5.1.1 mailbox unavailable"

    controller = Controller(Refuse(), hostname="127.0.0.1", port=free_port(), server_hostname="refuser")
    controller.start()
    app = prepared_app(create_app, test_settings(tmp_path, database_url, broker_url=redis_url, smtp_host="127.0.0.1",
                                   smtp_port=controller.port))
    try:
        assert deliver(app, on_documents_generated, generated()) == "failed"
        assert deliver(app, on_documents_generated, generated()) == "failed"  # not tried again
        [item] = log(app)
        assert (item["status"], item["attempts"]) == ("failed", 1)
        assert "550" in item["last_error"]
    finally:
        shutdown(app)
        controller.stop()


@contextmanager
def worker_log_on_failure(worker):
    try:
        yield
    except BaseException:
        print(worker.log()[-5000:])  # pytest shows it with the failure
        raise


def test_smtp_down_then_up_with_a_real_worker(app, settings, sink):
    sink.stop()
    with Worker("notify", env_for(settings)) as worker, worker_log_on_failure(worker):
        app.extensions["celery"].send_task("notify.on_documents_generated", args=[generated()], queue="notify")

        def retried():
            found = rows(app)
            return found and found[0].attempts >= 2 and found[0]

        row = wait_for(retried, timeout=60, what="the email to be retried while SMTP is down")
        assert row.status == "queued" and row.last_error and row.sent_at is None
        assert sink.messages() == []
        sink.start()
        row = wait_for(lambda: rows(app)[0].status == "sent" and rows(app)[0], timeout=90,
                       what="the email to be sent once SMTP is back")
        time.sleep(2)  # a duplicate would arrive right behind the first
        assert len(sink.messages()) == 1
        assert row.attempts > 2 and row.sent_at is not None
        [item] = log(app, cooperative=NUMBER)
        assert item["status"] == "sent" and item["attempts"] == row.attempts


def test_messages_api_is_for_the_staff_of_the_department(app, sink):
    other_coop = {**COOPERATIVE, "number": "0380001A00", "email": "ce.0380001a@ac-grenoble.fr"}
    elsewhere = {**COOPERATIVE, "number": "0690001B00", "department": "69"}
    deliver(app, on_adhesion_submitted, submitted())
    deliver(app, on_adhesion_submitted, submitted(cooperative=other_coop))
    deliver(app, on_documents_generated, generated())
    deliver(app, on_adhesion_submitted, submitted(cooperative=elsewhere, department={**DEPARTMENT, "code": "69"}))
    client = app.test_client()

    assert client.get("/api/notify/messages").status_code == 401
    refused = client.get(f"/api/notify/messages?cooperative={NUMBER}", headers=SCHOOL)
    assert refused.status_code == 403 and refused.json["error"] == "forbidden"

    items = log(app, cooperative=NUMBER)
    assert [item["kind"] for item in items] == ["validation_confirmation", "submission_ack"]  # newest first
    assert set(items[0]) == {"to", "subject", "kind", "status", "attempts", "sent_at", "message_id",
                             "cooperative", "year", "created_at", "last_error"}
    assert {item["cooperative"] for item in log(app)} == {NUMBER, "0380001A00"}  # not department 69's
    assert [item["cooperative"] for item in log(app, headers=token(department="69"))] == ["0690001B00"]
    assert log(app, kind="submission_ack", cooperative="0380001A00")[0]["to"] == "ce.0380001a@ac-grenoble.fr"

    for bad in ("cooperative=abc", "year=2025", "status=lost", "unknown=1", "limit=0"):
        response = client.get(f"/api/notify/messages?{bad}", headers=STAFF)
        assert response.status_code in (400, 422), bad
        assert set(response.json) == {"error", "message", "fields"}


def test_health_and_openapi(app):
    client = app.test_client()
    assert client.get("/api/notify/health").json["status"] == "ok"
    spec = client.get("/api/notify/openapi.json").json
    assert "/api/notify/messages" in spec["paths"]
