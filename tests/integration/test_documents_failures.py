"""An issue of documents that keeps failing ends in a state staff see: a real store whose
root is a regular file (NotADirectoryError on every write, whoever runs the tests), the
adhesion.validated consumer run as a worker runs it (its retries published to the real
Redis), a give-up bound of one second; then « Documents non produits » and the re-issue
once the store is repaired. SQLite and PostgreSQL."""
import logging
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from sqlalchemy import select

from services.documents.app import create_app
from services.documents.domain import RenderingFailed
from services.documents.handlers import on_adhesion_validated
from services.documents.models import Document
from shared.auth import Principal
from tests.integration.test_documents_service import (
    NUMBER,
    SCHOOL,
    STAFF,
    YEAR,
    bearer,
    deliver,
    generated_events,
    listed,
    rows,
    validated,
)
from tests.integration.test_task_outages import as_worker_runs_it
from tests.support import bearer_for, test_settings

# Long enough that no first attempt reaches it, however loaded the machine; the tests then
# age the reservation past it rather than wait.
GIVE_UP_SECONDS = 600.0
SAVOIE = bearer("staff", department="73")  # staff of another department


@pytest.fixture
def app(make_app, tmp_path, database_url, redis_url):
    settings = test_settings(tmp_path, database_url, broker_url=redis_url, documents_give_up_seconds=GIVE_UP_SECONDS)
    return make_app(create_app, settings=settings)


def national(department="73") -> dict:
    return bearer_for(Principal(login="admin", role="staff", department=department, national=True))


@pytest.fixture
def broken_store(app):
    """A regular file where the documents directory should be: every write fails."""
    root = app.extensions["service"].settings.data_dir / "documents"
    root.write_text("not a directory")
    return root


def run_as_worker(app, envelope):
    with app.app_context():
        return as_worker_runs_it(on_adhesion_validated, envelope)


def failures(app, headers):
    return app.test_client().get("/api/documents/failures", headers=headers)


def past_the_bound(app) -> None:
    """The documents reserved as long ago as the bound: the next failed attempt gives up."""
    with app.extensions["service"].database.session() as session:
        for document in session.scalars(select(Document)):
            document.reserved_at -= timedelta(seconds=GIVE_UP_SECONDS + 1)


def give_up(app, envelope, caplog) -> None:
    """Retried (a WARNING) while the bound is not reached, then failed (an ERROR) and ended."""
    with pytest.raises(Retry) as retried:
        run_as_worker(app, envelope)
    assert isinstance(retried.value.exc, NotADirectoryError)
    assert any(r.levelno == logging.WARNING and "attempt 1 failed (NotADirectoryError" in r.getMessage()
               for r in caplog.records)
    reserved = rows(app, Document)
    assert len(reserved) == 2 and all(d.generated_at is None and d.failed_at is None for d in reserved)
    assert failures(app, STAFF).json == {"items": []}  # still being retried: not failed yet

    past_the_bound(app)
    assert run_as_worker(app, envelope) is False  # no Retry: the task ends, its message acknowledged
    given_up = [r for r in caplog.records if r.levelno == logging.ERROR and "given up" in r.getMessage()]
    assert len(given_up) == 1 and "ATT-2026-38-000001, CERT-2026-38-000001" in given_up[0].getMessage()


def test_a_store_that_cannot_be_written_ends_in_documents_not_produced(app, broken_store, caplog):
    caplog.set_level(logging.WARNING)
    envelope = validated()
    give_up(app, envelope, caplog)

    failed = rows(app, Document)
    assert all(d.failed_at is not None and d.generated_at is None for d in failed)
    reason = failed[0].failure
    assert reason.startswith("Enregistrement des PDF impossible (NotADirectoryError: ")
    assert reason.endswith("Réparez la cause puis réémettez les documents.")
    assert generated_events(app) == [] and listed(app) == []

    answer = failures(app, STAFF)
    assert answer.status_code == 200
    [item] = answer.json["items"]
    assert (item["cooperative"], item["year"], item["version"], item["department"]) == (NUMBER, YEAR, 1, "38")
    assert item["documents"] == [{"kind": "attestation", "number": "ATT-2026-38-000001"},
                                 {"kind": "certificate", "number": "CERT-2026-38-000001"}]
    assert item["failure"] == reason and item["failed_at"]
    assert failures(app, SAVOIE).json == {"items": []}  # staff of another department
    assert failures(app, national()).json["items"] == [item]  # the national administrator: every one
    assert failures(app, SCHOOL).status_code == 403

    # the store still broken: the re-issue says why, and the failure stays
    client = app.test_client()
    refused = client.post(f"/api/documents/{NUMBER}/{YEAR}/reissue", headers=STAFF)
    assert refused.status_code == 503 and "NotADirectoryError" in refused.json["message"]
    assert client.post(f"/api/documents/{NUMBER}/{YEAR}/reissue", headers=SAVOIE).status_code == 403
    assert failures(app, STAFF).json["items"] == [item]

    broken_store.unlink()  # repaired
    response = client.post(f"/api/documents/{NUMBER}/{YEAR}/reissue", headers=STAFF)
    assert response.status_code == 202, response.json
    assert [(d["kind"], d["number"], d["version"]) for d in response.json["documents"]] == [
        ("attestation", "ATT-2026-38-000001", 1), ("certificate", "CERT-2026-38-000001", 1)]
    assert all(d["generated_at"] for d in response.json["documents"])
    drawn = rows(app, Document)
    assert all(d.generated_at and d.failed_at is None and d.failure is None for d in drawn)
    assert {(d.number, d.verify_token) for d in drawn} == {(d.number, d.verify_token) for d in failed}
    [event] = generated_events(app)
    assert [d["number"] for d in event["documents"]] == ["ATT-2026-38-000001", "CERT-2026-38-000001"]
    for document in listed(app):
        pdf = client.get(f"/api/documents/{NUMBER}/{YEAR}/{document['kind']}.pdf", headers=SCHOOL)
        assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF-")
    assert failures(app, STAFF).json == {"items": []}

    # the event delivered again later: done already, nothing new
    assert deliver(app, envelope) is True
    assert len(generated_events(app)) == 1 and len(rows(app, Document)) == 2


def test_a_later_delivery_of_the_event_clears_the_failure(app, broken_store, caplog):
    caplog.set_level(logging.WARNING)
    envelope = validated()
    give_up(app, envelope, caplog)
    assert len(failures(app, STAFF).json["items"]) == 1

    broken_store.unlink()
    assert run_as_worker(app, envelope) is True  # the same event, handed out again (a republish)
    assert all(d.generated_at and d.failed_at is None and d.failure is None for d in rows(app, Document))
    assert len(generated_events(app)) == 1
    assert failures(app, STAFF).json == {"items": []}


def test_a_newer_validation_issued_replaces_the_failed_one(app, broken_store, caplog):
    """A revalidation drawn after a failure supersedes the documents never produced: they
    leave the list, and nothing of them is published."""
    caplog.set_level(logging.WARNING)
    give_up(app, validated(version=1), caplog)
    broken_store.unlink()
    assert deliver(app, validated(version=2, revision=9))
    assert [(d["kind"], d["version"]) for d in listed(app)] == [("attestation", 2), ("certificate", 2)]
    assert failures(app, STAFF).json == {"items": []}
    assert [e["version"] for e in generated_events(app)] == [2]
    with app.extensions["service"].database.session() as session:
        old = session.scalars(select(Document).where(Document.version == 1)).all()
        assert all(d.superseded_at and d.generated_at is None for d in old)


def test_a_rendering_that_raises_every_time_ends_the_same_way(make_app, tmp_path, database_url, redis_url, caplog):
    """A PUBLIC_BASE_URL too long for a QR code (a misconfiguration): every drawing raises
    (ValueError from qrcode); retried, then failed with the rendering's reason."""
    caplog.set_level(logging.WARNING)
    app = make_app(create_app, settings=test_settings(
        tmp_path, database_url, broker_url=redis_url, documents_give_up_seconds=GIVE_UP_SECONDS,
        public_base_url="https://" + "a" * 2400 + ".example"))
    with pytest.raises(Retry) as retried:
        run_as_worker(app, validated())
    assert isinstance(retried.value.exc, RenderingFailed)
    assert any(r.levelno == logging.WARNING and "attempt 1 failed (RenderingFailed: ATT-2026-38-000001 : ValueError"
               in r.getMessage() for r in caplog.records)
    past_the_bound(app)
    assert run_as_worker(app, validated()) is False
    [item] = failures(app, STAFF).json["items"]
    assert item["failure"].startswith("Production des PDF impossible (ATT-2026-38-000001 : ValueError: ")
    refused = app.test_client().post(f"/api/documents/{NUMBER}/{YEAR}/reissue", headers=STAFF)
    assert refused.status_code == 503 and refused.json["message"].startswith("Production des PDF impossible")
    assert generated_events(app) == [] and listed(app) == []
