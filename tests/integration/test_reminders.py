"""Staff-triggered renewal reminders: the adhesion API writes one ``adhesion.reminder_due``
per cooperative not renewed (no adhesion, or a draft never sent) under a new round; notify
sends one email per cooperative, year and round. SQLite and PostgreSQL, real Redis, a real
SMTP sink."""
import json
from datetime import datetime, timedelta, timezone

import pytest
import redis
from sqlalchemy import update

from contracts import adhesion as adhesion_events
from deploy.smtp_sink import MailSink
from services.adhesion.models import Account, Department
from services.notify.app import create_app as create_notify_app
from services.notify.handlers import on_reminder_due
from services.notify.models import Message
from shared.auth import hash_password
from shared.service import shutdown
from tests.integration.test_adhesion_api import GUIDE, YEAR, outbox_rows
from tests.integration.test_notify_service import COOPERATIVE, DEPARTMENT, NUMBER, TO, free_port, rows
from tests.support import prepared_app, test_settings, wait_for

NO_ADHESION, DRAFT, SUBMITTED = "0380001A00", "0380002B00", "0380003C00"


def add_cooperative(client, staff, number):
    response = client.post("/api/adhesion/cooperatives", headers=staff, json={
        "number": number, "name": f"Coopérative {number}", "town": "VIENNE",
        "email": f"ce.{number.lower()}@ac-grenoble.fr", "password": "ecole-secret",
    })
    assert response.status_code == 201, response.json
    return client.login(number, "ecole-secret")


@pytest.fixture
def cooperatives(client, staff):
    add_cooperative(client, staff, NO_ADHESION)
    draft = add_cooperative(client, staff, DRAFT)
    assert client.put(f"/api/adhesion/adhesions/{DRAFT}/{YEAR}", headers=draft, json=GUIDE).status_code == 200
    submitted = add_cooperative(client, staff, SUBMITTED)
    assert client.put(f"/api/adhesion/adhesions/{SUBMITTED}/{YEAR}", headers=submitted, json=GUIDE).status_code == 200
    response = client.post(f"/api/adhesion/adhesions/{SUBMITTED}/{YEAR}/submit", headers=submitted)
    assert response.status_code == 200, response.json
    return {"draft": draft, "submitted": submitted}


def reminder_events(app):
    return [json.loads(row.payload) for row in outbox_rows(app, "adhesion.reminder_due")]


def test_only_cooperatives_not_renewed_are_reminded(client, app, staff, cooperatives, redis_url):
    response = client.post(f"/api/adhesion/reminders/{YEAR}", headers=staff)
    assert response.status_code == 200, response.json
    assert response.json == {"round": 1, "reminded": [NO_ADHESION, DRAFT], "count": 2}
    events = reminder_events(app)
    assert [event["data"]["cooperative"]["number"] for event in events] == [NO_ADHESION, DRAFT]
    data = events[0]["data"]
    assert (data["year"], data["round"]) == (YEAR, 1)
    assert data["cooperative"] == {"number": NO_ADHESION, "name": f"Coopérative {NO_ADHESION}", "town": "VIENNE",
                                   "email": f"ce.{NO_ADHESION.lower()}@ac-grenoble.fr", "department": "38"}
    assert data["department"]["code"] == "38" and data["department"]["name"] == "OCCE de l'Isère"
    wait_for(lambda: all(row.published_at for row in outbox_rows(app)), what="the relay to publish the outbox")
    broker = redis.Redis.from_url(redis_url)
    # bulk mail has its own lane: nothing of the round stands in front of a confirmation
    def tasks(queue):
        return [json.loads(raw)["headers"]["task"] for raw in broker.lrange(queue, 0, -1)]

    assert tasks("notify") == ["notify.on_adhesion_submitted"]  # the fixture's submission
    assert tasks("notify_bulk") == ["notify_bulk.on_reminder_due"] * 2


def test_round_increments_and_follows_renewals(client, app, staff, cooperatives):
    assert client.post(f"/api/adhesion/reminders/{YEAR}", headers=staff).json["round"] == 1
    assert client.post(f"/api/adhesion/adhesions/{DRAFT}/{YEAR}/submit",
                       headers=cooperatives["draft"]).status_code == 200
    second = client.post(f"/api/adhesion/reminders/{YEAR}", headers=staff)
    assert second.json == {"round": 2, "reminded": [NO_ADHESION], "count": 1}
    assert [(e["data"]["cooperative"]["number"], e["data"]["round"]) for e in reminder_events(app)] == [
        (NO_ADHESION, 1), (DRAFT, 1), (NO_ADHESION, 2)]
    # rounds are counted per year: another year starts at 1
    assert client.post("/api/adhesion/reminders/2024-2025", headers=staff).json["round"] == 1


def test_the_preview_counts_whom_the_round_reaches(client, app, staff, cooperatives):
    """GET asks the rule POST sends by: no adhesion or a draft, active only; it sends nothing."""
    assert client.get(f"/api/adhesion/reminders/{YEAR}", headers=staff).json == {"year": YEAR, "count": 2}
    assert client.patch(f"/api/adhesion/cooperatives/{NO_ADHESION}", headers=staff,
                        json={"active": False}).status_code == 200
    assert client.get(f"/api/adhesion/reminders/{YEAR}", headers=staff).json["count"] == 1
    assert reminder_events(app) == []
    assert client.post(f"/api/adhesion/reminders/{YEAR}", headers=staff).json == {
        "round": 1, "reminded": [DRAFT], "count": 1}  # the preview consumed no round
    assert client.post(f"/api/adhesion/adhesions/{DRAFT}/{YEAR}/submit",
                       headers=cooperatives["draft"]).status_code == 200
    assert client.get(f"/api/adhesion/reminders/{YEAR}", headers=staff).json["count"] == 0
    assert client.get(f"/api/adhesion/reminders/{YEAR}", headers=cooperatives["draft"]).status_code == 403
    assert client.get("/api/adhesion/reminders/2025-2027", headers=staff).status_code == 400


def test_rounds_are_per_department(client, app, staff, cooperatives):
    with app.extensions["service"].database.session() as session:
        session.add(Department(code="73", name="OCCE de la Savoie", insurer="", insurer_contract=""))
        session.flush()
        session.add(Account(login="savoie", password_hash=hash_password("savoie-password"), role="staff",
                            department="73"))
    savoie = client.login("savoie", "savoie-password")
    assert client.post(f"/api/adhesion/reminders/{YEAR}", headers=staff).json["round"] == 1
    # Savoie has no rates for the year: 404, and no event
    assert client.post(f"/api/adhesion/reminders/{YEAR}", headers=savoie).status_code == 404
    assert len(reminder_events(app)) == 2


def test_school_forbidden_malformed_year_and_unknown_rates(client, app, staff, cooperatives):
    assert client.post(f"/api/adhesion/reminders/{YEAR}", headers=cooperatives["draft"]).status_code == 403
    assert client.post(f"/api/adhesion/reminders/{YEAR}").status_code == 401
    for bad in ("2025", "2025-2027", "abcd-efgh"):
        response = client.post(f"/api/adhesion/reminders/{bad}", headers=staff)
        assert response.status_code == 400, (bad, response.json)
        assert "year" in response.json["fields"]
    response = client.post("/api/adhesion/reminders/2030-2031", headers=staff)
    assert response.status_code == 404 and response.json["error"] == "not_found"
    assert reminder_events(app) == []
    # the refused calls consumed no round
    assert client.post(f"/api/adhesion/reminders/{YEAR}", headers=staff).json["round"] == 1


# --- notify ---------------------------------------------------------------------------------


@pytest.fixture
def sink(tmp_path):
    with MailSink(tmp_path / "mail", port=free_port()) as running:
        yield running


@pytest.fixture
def notify_app(tmp_path, database_url, redis_url, sink):
    app = prepared_app(create_notify_app, test_settings(tmp_path / "notify", database_url, broker_url=redis_url,
                                          smtp_host="127.0.0.1", smtp_port=sink.port))
    yield app
    shutdown(app)


def reminder(round_=1) -> dict:
    return adhesion_events.REMINDER_DUE.build({
        "cooperative": COOPERATIVE, "department": DEPARTMENT, "year": YEAR, "round": round_,
    }).to_dict()


def deliver(app, envelope):
    with app.app_context():
        return on_reminder_due(envelope)


def test_same_reminder_twice_gives_one_email_and_a_new_round_another(notify_app, sink):
    envelope = reminder(1)
    assert deliver(notify_app, envelope) == "sent"
    assert deliver(notify_app, envelope) == "sent"  # re-delivered: nothing more
    [mail] = sink.messages()
    assert mail["Subject"] == f"Retkoop – Renouvelez votre adhésion {YEAR}"
    assert mail["To"] == TO
    assert mail["Message-ID"] == f"<reminder-{NUMBER}-{YEAR}-round1@retkoop.local>"
    assert mail["X-Retkoop-Kind"] == "renewal_reminder"
    assert NUMBER in mail.get_body(("plain",)).get_content()
    [row] = rows(notify_app)
    assert (row.key, row.kind, row.status, row.attempts, row.sequence) == (
        f"renewal_reminder:{NUMBER}:{YEAR}:round1", "renewal_reminder", "sent", 1, 1)

    # the same round published again (another event id) still sends nothing more
    assert deliver(notify_app, reminder(1)) == "sent"
    assert len(sink.messages()) == 1 and len(rows(notify_app)) == 1

    # a new round a moment later (rounds overlapping): not reminded twice within 20 hours
    assert deliver(notify_app, reminder(2)) == "skipped"
    assert len(sink.messages()) == 1
    with notify_app.extensions["service"].database.session() as session:
        session.execute(update(Message).values(sent_at=datetime.now(timezone.utc) - timedelta(hours=21)))
    assert deliver(notify_app, reminder(3)) == "sent"
    messages = sink.messages()
    assert len(messages) == 2
    assert {m["Message-ID"] for m in messages} == {
        f"<reminder-{NUMBER}-{YEAR}-round1@retkoop.local>", f"<reminder-{NUMBER}-{YEAR}-round3@retkoop.local>"}
    assert [(row.key, row.status) for row in rows(notify_app)] == [
        (f"renewal_reminder:{NUMBER}:{YEAR}:round1", "sent"), (f"renewal_reminder:{NUMBER}:{YEAR}:round2", "skipped"),
        (f"renewal_reminder:{NUMBER}:{YEAR}:round3", "sent")]
