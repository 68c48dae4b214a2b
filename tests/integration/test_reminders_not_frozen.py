"""Issue 25, item 1: reminder rounds as staff and schools met them in a September walk.

- a reminder date already past is refused (it fired a round within minutes, without the
  confirmation a round sent by hand asks for); a date not sent yet can be removed;
- dates reached together make one round, not one each (593 schools got two reminders in
  20 minutes: 15/11 and 25/11 both found due on 3/12, one round each, minutes apart);
- who a round reaches is checked again when each email goes out: a school that sent its
  adhesion or was deactivated since the round started is not told « n'a pas encore été
  saisie »; a school reminded a moment ago by an overlapping round is not reminded again;
- the progress counts what is still in the broker's queue as waiting.

The adhesion app writes the events (its outbox), notify's consumers read them in the order
a busy September gives: the round first, then the submission and the deactivation on the
fast lane, and the round's emails last, on the paced lane. SQLite and PostgreSQL, real
Redis, a real SMTP sink."""
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from deploy.redis_server import free_port
from deploy.smtp_sink import MailSink
from services.adhesion.models import Cooperative, ReminderDate
from services.adhesion.reminders import PARIS, send_due_rounds
from services.notify.app import create_app as create_notify_app
from services.notify.handlers import on_adhesion_submitted, on_cooperative_active_changed, on_reminder_due
from services.notify.models import Message
from services.notify.service import reminder_progress
from shared.auth import Principal
from shared.service import shutdown
from tests.integration.test_adhesion_api import GUIDE, YEAR, outbox_rows
from tests.integration.test_reminders import add_cooperative
from tests.support import prepared_app, test_settings

SENDS, LEAVES, WAITS, STAYS = "0690001A00", "0690002B00", "0690003C00", "0690004D00"


def schedule(client, staff, dates):
    return client.put(f"/api/adhesion/reminders/{YEAR}/schedule", headers=staff,
                      json={"dates": [str(day) for day in dates]})


def today() -> date:
    return datetime.now(PARIS).date()


def test_a_past_reminder_date_is_refused_and_a_date_not_sent_can_be_removed(client, app, staff):
    add_cooperative(client, staff, STAYS)
    response = schedule(client, staff, [today() - timedelta(days=18)])
    assert response.status_code == 422, response.json
    assert "dates" in response.json["fields"]
    assert "passée" in response.json["message"]
    assert client.get(f"/api/adhesion/reminders/{YEAR}/schedule", headers=staff).json["items"] == []

    later = [today() + timedelta(days=3), today() + timedelta(days=10)]
    assert schedule(client, staff, later).status_code == 200
    response = schedule(client, staff, later[1:])  # the first one removed
    assert response.status_code == 200, response.json
    assert [item["date"] for item in response.json["items"]] == [str(later[1])]
    assert today() not in (date.fromisoformat(item["date"]) for item in response.json["items"])
    assert schedule(client, staff, [today()]).status_code == 200  # today is not past
    assert outbox_rows(app, "adhesion.reminder_due") == []  # nothing sent by setting dates


def test_dates_reached_together_make_one_round(client, app, staff):
    for number in (SENDS, STAYS):
        add_cooperative(client, staff, number)
    # two dates past and not sent: set before they passed, while the scheduler was stopped
    with app.extensions["service"].database.session() as session:
        department = session.scalar(select(Cooperative.department).limit(1))
        for day in (today() - timedelta(days=18), today() - timedelta(days=8)):
            session.add(ReminderDate(department=department, year=YEAR, day=day))
    service = app.extensions["service"]
    with app.app_context():
        sent = send_due_rounds(service, today())
        assert send_due_rounds(service, today()) == []  # a second tick finds both taken
    assert [(s["round"], s["count"], len(s["dates"])) for s in sent] == [(1, 2, 2)]
    events = [json.loads(row.payload)["data"] for row in outbox_rows(app, "adhesion.reminder_due")]
    assert sorted((e["cooperative"]["number"], e["round"]) for e in events) == [(SENDS, 1), (STAYS, 1)]
    items = client.get(f"/api/adhesion/reminders/{YEAR}/schedule", headers=staff).json["items"]
    assert [(item["round"], item["count"]) for item in items] == [(1, 2), (1, 2)]


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


def consume(notify_app, handler, row):
    with notify_app.app_context():
        return handler(json.loads(row.payload))


def test_a_round_skips_at_send_time_who_sent_or_was_deactivated_since(client, app, staff, notify_app, sink):
    schools = {number: add_cooperative(client, staff, number) for number in (SENDS, LEAVES, WAITS, STAYS)}
    round_ = client.post(f"/api/adhesion/reminders/{YEAR}", headers=staff).json
    assert round_["count"] == 4
    reminders = {json.loads(row.payload)["data"]["cooperative"]["number"]: row
                 for row in outbox_rows(app, "adhesion.reminder_due")}
    data = json.loads(reminders[STAYS].payload)["data"]
    assert data["round_size"] == 4 and data["renewal_opens"] and data["renewal_closes"]

    # while the round waits in the bulk lane: one school sends its adhesion, one is deactivated
    assert client.put(f"/api/adhesion/adhesions/{SENDS}/{YEAR}", headers=schools[SENDS], json=GUIDE).status_code == 200
    assert client.post(f"/api/adhesion/adhesions/{SENDS}/{YEAR}/submit", headers=schools[SENDS]).status_code == 200
    assert client.patch(f"/api/adhesion/cooperatives/{LEAVES}", headers=staff,
                        json={"active": False}).status_code == 200
    [submission] = outbox_rows(app, "adhesion.submitted")
    [deactivation] = outbox_rows(app, "cooperative.active_changed")
    assert consume(notify_app, on_adhesion_submitted, submission) == "sent"
    consume(notify_app, on_cooperative_active_changed, deactivation)

    principal = Principal(login="admin", role="staff", department=data["department"]["code"])
    with notify_app.app_context():
        progress = reminder_progress(notify_app.extensions["service"], principal, YEAR, None)
    assert progress["round"] is None  # nothing of the round logged yet

    assert consume(notify_app, on_reminder_due, reminders[SENDS]) == "skipped"
    assert consume(notify_app, on_reminder_due, reminders[LEAVES]) == "skipped"
    assert consume(notify_app, on_reminder_due, reminders[STAYS]) == "sent"
    with notify_app.app_context():
        progress = reminder_progress(notify_app.extensions["service"], principal, YEAR, None)
    # WAITS is still in the broker's queue: it is waiting, not forgotten
    assert progress == {"year": YEAR, "round": 1, "total": 4, "queued": 1, "sent": 1, "failed": 0, "skipped": 2}

    reminded = [mail for mail in sink.messages() if mail["X-Retkoop-Kind"] == "renewal_reminder"]
    assert [mail["To"] for mail in reminded] == [f"ce.{STAYS.lower()}@ac-grenoble.fr"]
    text = reminded[0].get_body(("plain",)).get_content()
    assert "n'a pas encore été saisie" in text and "/mot-de-passe/perdu" in text

    with notify_app.extensions["service"].database.session() as session:
        why = dict(session.execute(select(Message.cooperative, Message.last_error).where(
            Message.status == "skipped")).all())
    assert "envoyée" in why[SENDS] and "désactivée" in why[LEAVES]

    # an overlapping round (by hand, minutes later) does not remind STAYS a second time
    second = client.post(f"/api/adhesion/reminders/{YEAR}", headers=staff).json
    assert second["round"] == 2 and STAYS in second["reminded"]
    [again] = [row for row in outbox_rows(app, "adhesion.reminder_due")
               if json.loads(row.payload)["data"]["round"] == 2
               and json.loads(row.payload)["data"]["cooperative"]["number"] == STAYS]
    assert consume(notify_app, on_reminder_due, again) == "skipped"
    assert len([m for m in sink.messages() if m["X-Retkoop-Kind"] == "renewal_reminder"]) == 1

    # a day later the next round reaches it again
    with notify_app.extensions["service"].database.session() as session:
        session.execute(update(Message).where(Message.status == "sent", Message.kind == "renewal_reminder")
                        .values(sent_at=datetime.now(timezone.utc) - timedelta(hours=21)))
    client.post(f"/api/adhesion/reminders/{YEAR}", headers=staff)
    [third] = [row for row in outbox_rows(app, "adhesion.reminder_due")
               if json.loads(row.payload)["data"]["round"] == 3
               and json.loads(row.payload)["data"]["cooperative"]["number"] == STAYS]
    assert consume(notify_app, on_reminder_due, third) == "sent"
