"""Scheduled reminder rounds (docs/campaign.md#6-reminder-rounds) with real processes: two
Celery beats ticking every second, one of them killed and restarted, a real adhesion
worker, PostgreSQL and Redis.
Each date's round goes out once: one ``adhesion.reminder_due`` per cooperative not renewed."""
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from services.adhesion.app import create_app
from services.adhesion.campaign import local_day
from services.adhesion.models import ReminderDate
from shared.service import shutdown
from tests.integration.test_adhesion_api import YEAR, outbox_rows
from tests.integration.test_reminders import add_cooperative
from tests.quiet import quiet
from tests.support import GUIDE, ROOT, Client, Worker, env_for, prepared_app, test_settings, wait_for

NUMBERS = ("0380001A00", "0380002B00", "0380003C00")


class Beat:
    def __init__(self, env: dict, directory):
        self.env, self.directory = env, directory
        self.process = None

    def start(self) -> "Beat":
        self.log_path = self.directory / f"beat-{time.monotonic_ns()}.log"
        self.log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "services.adhesion.worker", "beat", "-l", "INFO",
             "-s", str(self.directory / f"schedule-{time.monotonic_ns()}")],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def ticks(self) -> int:
        """How many times this beat has sent the round check (Celery beat logs each at INFO)."""
        return self.log_path.read_text(errors="replace").count("Sending due task") if self.log_path.exists() else 0

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.log.close()


@pytest.fixture
def app(tmp_path, pg_url, redis_url):
    app = prepared_app(create_app, test_settings(tmp_path, pg_url, broker_url=redis_url))
    yield app
    shutdown(app)


def test_a_round_fires_once_with_two_beats_and_a_restart(app, tmp_path):
    client = Client(app)
    staff = client.login("admin", "admin-password")
    for number in NUMBERS:
        add_cooperative(client, staff, number)
    renewed = client.login(NUMBERS[2], "ecole-secret")
    client.put(f"/api/adhesion/adhesions/{NUMBERS[2]}/{YEAR}", headers=renewed, json=GUIDE)
    assert client.post(f"/api/adhesion/adhesions/{NUMBERS[2]}/{YEAR}/submit", headers=renewed).status_code == 200
    today = local_day(datetime.now(timezone.utc))
    dates = [str(today - timedelta(days=1)), str(today), str(today + timedelta(days=30))]
    response = client.put(f"/api/adhesion/reminders/{YEAR}/schedule", headers=staff, json={"dates": dates[1:]})
    assert response.status_code == 200, response.json
    # yesterday's date was set before it passed (a past date is refused now), and not sent:
    # the scheduler was stopped
    with app.extensions["service"].database.session() as session:
        session.add(ReminderDate(department="38", year=YEAR, day=today - timedelta(days=1)))

    env = env_for(app.extensions["service"].settings, REMINDER_BEAT_SECONDS="1")
    beats = [Beat(env, tmp_path).start(), Beat(env, tmp_path).start()]
    with Worker("adhesion", env, concurrency=2):
        try:
            wait_for(lambda: len([i for i in client.get(f"/api/adhesion/reminders/{YEAR}/schedule",
                                                        headers=staff).json["items"] if i["sent_at"]]) == 2,
                     timeout=60, what="both due rounds")
            beats[0].kill()  # a beat restarted: its schedule starts over, the rounds do not
            beats[0] = Beat(env, tmp_path).start()
            # several ticks of both beats after the restart, each checked by the worker
            ticked = beats[1].ticks()
            wait_for(lambda: beats[0].ticks() >= 3 and beats[1].ticks() >= ticked + 3, timeout=60,
                     what="three ticks of each beat")
        finally:
            for beat in beats:
                beat.kill()
        # the worker has handled every tick sent (notify has no worker here: its queue fills)
        quiet(app.extensions["service"].settings, services=("adhesion",))
    items = client.get(f"/api/adhesion/reminders/{YEAR}/schedule", headers=staff).json["items"]
    # both dates reached at once make one round (issue 25: two rounds minutes apart reminded
    # 593 schools twice)
    assert [(i["date"], i["round"], i["count"]) for i in items[:2]] == [(dates[0], 1, 2), (dates[1], 1, 2)]
    assert items[2]["sent_at"] is None
    events = [json.loads(row.payload)["data"] for row in outbox_rows(app, "adhesion.reminder_due")]
    sent = sorted((e["cooperative"]["number"], e["round"]) for e in events)
    assert sent == [(NUMBERS[0], 1), (NUMBERS[1], 1)]
