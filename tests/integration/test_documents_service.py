"""The documents service on SQLite and PostgreSQL with the real Redis broker: the
adhesion.validated consumer, the HTTP API, /verify, and real Celery workers (one killed
in the middle of rendering)."""
import hashlib
import io
import json
import os
import signal
import threading
import uuid

import pytest
import redis
from pypdf import PdfReader
from sqlalchemy import select

from contracts import adhesion as adhesion_events
from services.documents.app import create_app
from services.documents.handlers import on_adhesion_validated
from services.documents.models import Document, OutboxEvent, ProcessedEvent
from shared.auth import Principal, issue_service_token
from shared.service import shutdown
from tests.support import Worker, bearer_for, env_for, prepared_app, test_settings, wait_for

NUMBER = "0382296P00"
OTHER = "0380001A00"
YEAR = "2025-2026"
NAME = "Coopérative Scolaire de l'École Élémentaire Jean Moulin"
GUIDE_AMOUNTS = {"membership": "395.50", "insurance": "43.75", "goods": "0.00", "instruments": "0.00", "total": "439.25"}


def validated(version=1, insurance=True, number=NUMBER, code="26/0001 A", department="38", **changes) -> dict:
    """An adhesion.validated envelope as the adhesion service writes it (the guide's example)."""
    amounts = GUIDE_AMOUNTS if insurance else dict(GUIDE_AMOUNTS, insurance="0.00", total="395.50")
    data = {
        "cooperative": {"number": number, "name": NAME, "town": "VIENNE", "email": "ce.0382296p@ac-grenoble.fr",
                        "department": department},
        "department": {"code": department, "name": "OCCE de l'Isère", "insurer": "MAE – MAIF",
                       "insurer_contract": "CT-0042/38"},
        "year": YEAR,
        "revision": 5 + version,
        "registration_code": code,
        "version": version,
        "validated_at": "2025-09-15T08:30:00+00:00",
        "totals": {"teachers": 10, "students": 165, "cooperators": 175},
        "amounts": amounts,
        "amount_paid": amounts["total"],
        "payment_methods": ["cheque"],
        "insurance": insurance,
        "goods_value": "0.00",
        "instruments_value": "0.00",
        **changes,
    }
    return adhesion_events.VALIDATED.build(data).to_dict()


def bearer(role="school", department="38", cooperative=NUMBER) -> dict:
    login = cooperative if role == "school" else "admin"
    principal = Principal(login=login, role=role, department=department, cooperative=cooperative if role == "school" else None)
    return bearer_for(principal)


SCHOOL = bearer()
STAFF = bearer("staff")
def service_credential() -> dict:
    """Made when used: a service token lives five minutes, less than the whole suite."""
    return {"Authorization": f"Bearer {issue_service_token('test-secret', 'notify')}"}


@pytest.fixture
def settings(tmp_path, database_url, redis_url):
    return test_settings(tmp_path, database_url, broker_url=redis_url)


@pytest.fixture
def app(make_app, settings):
    return make_app(create_app, settings=settings)


def deliver(app, envelope) -> bool:
    with app.app_context():
        return on_adhesion_validated(envelope)


def rows(app, model, *where):
    with app.extensions["service"].database.session() as session:
        return session.scalars(select(model).where(*where).order_by(model.id if hasattr(model, "id") else model.event_id)).all()


def generated_events(app) -> list[dict]:
    return [json.loads(row.payload)["data"] for row in rows(app, OutboxEvent, OutboxEvent.type == "documents.generated")]


def listed(app, headers=SCHOOL, number=NUMBER, year=YEAR):
    response = app.test_client().get(f"/api/documents/{number}/{year}", headers=headers)
    assert response.status_code == 200, response.json
    return response.json["documents"]


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def verify_token_of(pdf: bytes) -> str:
    return pdf_text(pdf).split("/verify/", 1)[1].split()[0]


def verify(app, token):
    return app.test_client().get(f"/verify/{token}", headers={"Accept": "application/json"})


# --- the consumer ---------------------------------------------------------------------------


def test_delivered_twice_one_document_of_each_kind_and_one_event(app):
    envelope = validated()
    assert deliver(app, envelope) is True
    assert deliver(app, envelope) is False  # a redelivery changes nothing
    # the same validation under another event id (natural key): still nothing new
    assert deliver(app, {**envelope, "event_id": str(uuid.uuid4())}) is True

    documents = rows(app, Document)
    assert sorted((d.kind, d.version, d.number) for d in documents) == [
        ("attestation", 1, "ATT-2026-38-000001"), ("certificate", 1, "CERT-2026-38-000001")]
    assert all(d.generated_at and not d.superseded_at and len(d.verify_token) >= 32 for d in documents)
    assert len({d.verify_token for d in documents}) == 2
    assert len(rows(app, ProcessedEvent)) == 2

    events = generated_events(app)
    assert len(events) == 1
    event = events[0]
    assert (event["cooperative"]["number"], event["year"], event["registration_code"], event["version"]) == (
        NUMBER, YEAR, "26/0001 A", 1)
    assert event["insurance"] is True and event["amount_paid"] == "439.25"
    assert event["department"]["code"] == "38" and event["cooperative"]["email"] == "ce.0382296p@ac-grenoble.fr"
    assert [(d["kind"], d["number"], d["filename"]) for d in event["documents"]] == [
        ("attestation", "ATT-2026-38-000001", f"attestation-adhésion-{NUMBER}-{YEAR}.pdf"),
        ("certificate", "CERT-2026-38-000001", f"certificat-assurance-{NUMBER}-{YEAR}.pdf"),
    ]
    for item in event["documents"]:
        # a claim check: where the PDF is, its size and digest; the bytes stay here
        assert "pdf_base64" not in item and item["url"] == f"/api/documents/files/{item['number']}.pdf"
        pdf = app.test_client().get(item["url"], headers=service_credential()).data
        assert pdf.startswith(b"%PDF-") and item["number"] in pdf_text(pdf)
        assert (len(pdf), hashlib.sha256(pdf).hexdigest()) == (item["size"], item["sha256"])
        # what notify fetches is what the school downloads
        stored = app.test_client().get(f"/api/documents/{NUMBER}/{YEAR}/{item['kind']}.pdf", headers=SCHOOL)
        assert stored.data == pdf
    files = sorted(p.name for p in (app.extensions["service"].settings.data_dir / "documents").rglob("*.pdf"))
    # one file each, named by its digest: the second delivery left nothing behind
    assert files == [f"{item['kind']}-v1-{item['sha256']}.pdf" for item in event["documents"]]


def test_files_are_for_services_only(app):
    deliver(app, validated())
    client = app.test_client()
    url = "/api/documents/files/ATT-2026-38-000001.pdf"
    response = client.get(url, headers=service_credential())
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    for headers in (SCHOOL, STAFF):  # a school's or staff member's token is not a service credential
        refused = client.get(url, headers=headers)
        assert refused.status_code == 403 and refused.json["error"] == "forbidden"
    outsiders = ({}, {"Authorization": "Bearer nope"},
                 {"Authorization": f"Bearer {issue_service_token('another-secret', 'notify')}"})
    for headers in outsiders:
        assert client.get(url, headers=headers).status_code == 401
    for unknown in ("ATT-2026-38-000009", "ATT-2026-38-1", "ATT-2026-38-000001x"):
        assert client.get(f"/api/documents/files/{unknown}.pdf", headers=service_credential()).status_code == 404


def test_without_insurance_only_the_attestation(app):
    assert deliver(app, validated(insurance=False))
    assert [d["kind"] for d in listed(app)] == ["attestation"]
    assert [d["kind"] for d in generated_events(app)[0]["documents"]] == ["attestation"]
    response = app.test_client().get(f"/api/documents/{NUMBER}/{YEAR}/certificate.pdf", headers=SCHOOL)
    assert response.status_code == 404 and response.json["error"] == "not_found"


def test_serials_are_shared_by_an_issue_and_unique_across_cooperatives(app):
    deliver(app, validated())
    deliver(app, validated(number=OTHER, code="26/0002 A", insurance=False))
    numbers = sorted(d.number for d in rows(app, Document))
    assert numbers == ["ATT-2026-38-000001", "ATT-2026-38-000002", "CERT-2026-38-000001"]


def test_revalidation_supersedes_the_previous_version(app):
    deliver(app, validated(version=1))
    first = {d["kind"]: d for d in listed(app)}
    old_pdf = app.test_client().get(f"/api/documents/{NUMBER}/{YEAR}/attestation.pdf", headers=SCHOOL).data
    old_token = verify_token_of(old_pdf)
    assert verify(app, old_token).json == {"valid": True, "cooperative": NAME, "year": YEAR, "kind": "attestation"}

    assert deliver(app, validated(version=2, revision=9))
    second = {d["kind"]: d for d in listed(app)}
    assert sorted(second) == ["attestation", "certificate"]
    assert all(d["version"] == 2 for d in second.values())
    assert {d["number"] for d in second.values()}.isdisjoint(d["number"] for d in first.values())
    new_pdf = app.test_client().get(f"/api/documents/{NUMBER}/{YEAR}/attestation.pdf", headers=SCHOOL).data
    assert "Version 2 – remplace la version précédente" in pdf_text(new_pdf)

    old = verify(app, old_token)
    assert old.status_code == 404 and old.json == {"valid": False}
    new = verify(app, verify_token_of(new_pdf))
    assert new.status_code == 200 and new.json == {"valid": True, "cooperative": NAME, "year": YEAR, "kind": "attestation"}

    documents = rows(app, Document)
    assert len(documents) == 4
    assert all(d.superseded_at for d in documents if d.version == 1)
    assert [e["version"] for e in generated_events(app)] == [1, 2]

    # a late copy of the first validation (another event id) prints nothing
    assert deliver(app, validated(version=1))
    assert len(rows(app, Document)) == 4 and len(generated_events(app)) == 2
    assert all(d["version"] == 2 for d in listed(app))


def test_revalidation_without_insurance_withdraws_the_certificate(app):
    deliver(app, validated(version=1))
    deliver(app, validated(version=2, insurance=False))
    assert [(d["kind"], d["version"]) for d in listed(app)] == [("attestation", 2)]
    assert app.test_client().get(f"/api/documents/{NUMBER}/{YEAR}/certificate.pdf", headers=SCHOOL).status_code == 404


def test_pdf_download(app):
    deliver(app, validated())
    client = app.test_client()
    for kind, amount in (("attestation", "439,25 €"), ("certificate", "43,75 €")):
        response = client.get(f"/api/documents/{NUMBER}/{YEAR}/{kind}.pdf", headers=SCHOOL)
        assert response.status_code == 200
        assert response.mimetype == "application/pdf"
        disposition = response.headers["Content-Disposition"]
        expected_name = {"attestation": f"filename*=UTF-8''attestation-adh%C3%A9sion-{NUMBER}-{YEAR}.pdf",
                         "certificate": f"filename=certificat-assurance-{NUMBER}-{YEAR}.pdf"}[kind]
        assert disposition.startswith("inline; filename=") and expected_name in disposition
        text = pdf_text(response.data)
        for expected in (NAME, NUMBER, YEAR, "26/0001 A", "175", amount, "Fait le 15 septembre 2025"):
            assert expected in text, (kind, expected)
    # staff of the department read it too
    assert client.get(f"/api/documents/{NUMBER}/{YEAR}/attestation.pdf", headers=STAFF).status_code == 200


def test_access_rules(app):
    client = app.test_client()
    intruder = bearer(cooperative=OTHER)
    savoie = bearer("staff", department="73")

    # before any document: 404 for the files, an empty list, nobody's department known yet
    assert listed(app) == [] and listed(app, STAFF) == [] and listed(app, savoie) == []
    assert client.get(f"/api/documents/{NUMBER}/{YEAR}/attestation.pdf", headers=SCHOOL).status_code == 404
    assert client.get(f"/api/documents/{NUMBER}/{YEAR}", headers=intruder).status_code == 403

    deliver(app, validated())
    for headers in (intruder, savoie):
        for path in ("", "/attestation.pdf", "/certificate.pdf"):
            response = client.get(f"/api/documents/{NUMBER}/{YEAR}{path}", headers=headers)
            assert response.status_code == 403 and response.json["error"] == "forbidden", path
    # another year of the same cooperative: the department is still known
    assert client.get(f"/api/documents/{NUMBER}/2024-2025", headers=savoie).status_code == 403
    assert listed(app, STAFF, year="2024-2025") == []

    assert client.get(f"/api/documents/{NUMBER}/{YEAR}").status_code == 401
    assert client.get(f"/api/documents/{NUMBER}/{YEAR}/attestation.pdf").status_code == 401
    assert client.get(f"/api/documents/{NUMBER}/{YEAR}/facture.pdf", headers=SCHOOL).status_code == 404


def test_malformed_path_names_the_field(app):
    client = app.test_client()
    response = client.get(f"/api/documents/{NUMBER}/2025-2027", headers=STAFF)
    assert response.status_code == 400 and list(response.json["fields"]) == ["year"]
    response = client.get(f"/api/documents/bad-number/{YEAR}/attestation.pdf", headers=STAFF)
    assert response.status_code == 400 and list(response.json["fields"]) == ["number"]
    response = client.get("/api/documents/x/y", headers=STAFF)
    assert response.status_code == 400 and sorted(response.json["fields"]) == ["number", "year"]


def test_verify_page_in_french(app):
    deliver(app, validated())
    pdf = app.test_client().get(f"/api/documents/{NUMBER}/{YEAR}/certificate.pdf", headers=SCHOOL).data
    token = verify_token_of(pdf)
    assert f"{app.extensions['service'].settings.public_base_url}/verify/{token}" in pdf_text(pdf)
    page = app.test_client().get(f"/verify/{token}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Document valide" in html and "Certificat d&#39;assurance" in html and "2025 - 2026" in html
    assert "Coopérative Scolaire de l&#39;École Élémentaire Jean Moulin" in html
    # what the paper prints, to compare with it; the school's number stays off this public page
    assert "<main" in html and "26/0001 A" in html and "CERT-2026-38-000001" in html
    assert NUMBER not in html
    for token in ("unknown-token-0123456789", "x", "a" * 200):
        missing = app.test_client().get(f"/verify/{token}")
        assert missing.status_code == 404 and "Document invalide ou remplacé" in missing.get_data(as_text=True)
        assert verify(app, token).json == {"valid": False}


def test_concurrent_deliveries_of_one_event(tmp_path, pg_url, redis_url):
    """Two workers handed the same event at once on PostgreSQL: one document of each kind."""
    app = prepared_app(create_app, test_settings(tmp_path, pg_url, broker_url=redis_url))
    try:
        envelope = validated()
        results, barrier = [], threading.Barrier(4)

        def run(env):
            barrier.wait()
            results.append(deliver(app, env))

        copies = [envelope, envelope, {**envelope, "event_id": "second-delivery-id"}, envelope]
        threads = [threading.Thread(target=run, args=(env,)) for env in copies]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert sorted(results) == [False, False, True, True]  # each event id applied once
        assert sorted(d.kind for d in rows(app, Document)) == ["attestation", "certificate"]
        assert len(generated_events(app)) == 1
    finally:
        shutdown(app)


# --- real workers ---------------------------------------------------------------------------


def publish(app, envelope) -> None:
    app.extensions["celery"].send_task("documents.on_adhesion_validated", args=[envelope], queue="documents")


def generated(app):
    return [d for d in rows(app, Document) if d.generated_at is not None]


def test_worker_consumes_adhesion_validated_from_redis(app, settings, redis_url):
    with Worker("documents", env_for(settings)) as worker:
        publish(app, validated())
        wait_for(lambda: len(generated(app)) == 2, timeout=60, what=f"the documents\n{worker.log()[-3000:]}")
        # documents.generated was published by the worker for notify
        wait_for(lambda: all(row.published_at for row in rows(app, OutboxEvent)), timeout=20, what="the relay")
        queued = redis.Redis.from_url(redis_url).lrange("notify", 0, -1)
        assert len(queued) == 1
        message = json.loads(queued[0])
        assert message["headers"]["task"] == "notify.on_documents_generated"
        wait_for(lambda: "rendered and stored" in worker.log(), what="the task's log line, written after publishing")
    assert [d["kind"] for d in listed(app)] == ["attestation", "certificate"]
    assert len(generated_events(app)) == 1


def test_pool_process_killed_while_rendering(app, settings):
    """SIGKILL the process running the task mid-render: the task runs again (acks_late,
    reject on worker lost) and the documents exist exactly once, with the numbers
    reserved by the first run."""
    env = env_for(settings, TEST_RENDER_DELAY_SECONDS="3")
    with Worker("documents", env, app="tests.workers.slow_documents") as worker:
        wait_for(lambda: worker.children(), timeout=30, what="the pool process")
        publish(app, validated())
        reserved = wait_for(lambda: rows(app, Document), timeout=30, what=f"the reservation\n{worker.log()[-3000:]}")
        assert all(d.generated_at is None for d in reserved)  # rendering has not finished
        victims = worker.children()
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: set(worker.children()) - set(victims), timeout=30, what="a new pool process")
        wait_for(lambda: len(generated(app)) == 2, timeout=60, what=f"the documents\n{worker.log()[-3000:]}")
        assert "WorkerLostError" in worker.log() or "SIGKILL" in worker.log()
    documents = rows(app, Document)
    assert len(documents) == 2
    assert {(d.number, d.verify_token) for d in documents} == {(d.number, d.verify_token) for d in reserved}
    assert len(generated_events(app)) == 1
    assert len(rows(app, ProcessedEvent)) == 1


def test_staff_reissue_the_current_documents_with_a_new_event(app):
    """« Réémettre les documents »: the same numbers and verification links drawn again,
    and documents.generated written again (notify sends a failed confirmation with it)."""
    client = app.test_client()
    assert client.post(f"/api/documents/{NUMBER}/{YEAR}/reissue", headers=STAFF).status_code == 404  # none yet
    deliver(app, validated())
    before = generated_events(app)
    assert client.post(f"/api/documents/{NUMBER}/{YEAR}/reissue", headers=SCHOOL).status_code == 403
    assert client.post(f"/api/documents/{NUMBER}/{YEAR}/reissue", headers=bearer("staff", "69")).status_code == 403
    response = client.post(f"/api/documents/{NUMBER}/{YEAR}/reissue", headers=STAFF)
    assert response.status_code == 202, response.json
    assert [d["number"] for d in response.json["documents"]] == ["ATT-2026-38-000001", "CERT-2026-38-000001"]
    first, again = generated_events(app)
    assert first == before[0]
    assert again["documents"] == first["documents"]  # invariant drawing: the same bytes, the same digests
    for item in again["documents"]:
        pdf = client.get(item["url"], headers=service_credential()).data
        assert hashlib.sha256(pdf).hexdigest() == item["sha256"]
    files = list((app.extensions["service"].settings.data_dir / "documents").rglob("*.pdf"))
    assert len(files) == 2


def test_a_stored_file_gone_answers_503_and_documents_without_source_409(app):
    """The refusals of the use cases keep their answers: a file out of the store is a 503,
    documents issued before their source was kept cannot be drawn again (409)."""
    deliver(app, validated())
    client = app.test_client()
    for path in (app.extensions["service"].settings.data_dir / "documents").rglob("attestation-*.pdf"):
        path.unlink()
    gone = "Le fichier du document est momentanément indisponible."
    for url, headers in ((f"/api/documents/{NUMBER}/{YEAR}/attestation.pdf", SCHOOL),
                         ("/api/documents/files/ATT-2026-38-000001.pdf", service_credential())):
        response = client.get(url, headers=headers)
        assert response.status_code == 503
        assert response.json == {"error": "unavailable", "message": gone, "fields": {}}
    with app.extensions["service"].database.session() as session:
        for row in session.scalars(select(Document)):
            row.source = None
    response = client.post(f"/api/documents/{NUMBER}/{YEAR}/reissue", headers=STAFF)
    assert response.status_code == 409
    assert response.json == {"error": "conflict", "fields": {}, "message": (
        "Ces documents ont été émis avant que leurs données soient conservées : "
        "revalidez l'adhésion pour en émettre une nouvelle version.")}
    response = client.post(f"/api/documents/{NUMBER}/2024-2025/reissue", headers=STAFF)
    assert response.status_code == 404
    assert response.json == {"error": "not_found", "fields": {}, "message": f"Aucun document émis pour {NUMBER} en 2024-2025."}
