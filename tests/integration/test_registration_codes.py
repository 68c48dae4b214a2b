"""20 staff validating at the same moment on PostgreSQL get 26/0001 A … 26/0020 A."""
import threading

import pytest

from services.adhesion.app import create_app
from shared.service import shutdown
from tests.integration.test_adhesion_api import YEAR, create_cooperative, pay, submitted_guide
from tests.support import Client, prepared_app, test_settings

COUNT = 20


@pytest.fixture
def app(tmp_path, pg_url, redis_url):
    app = prepared_app(create_app, test_settings(tmp_path, pg_url, broker_url=redis_url))
    yield app
    shutdown(app)


def test_concurrent_validations_get_consecutive_codes(app):
    client = Client(app)
    staff = client.login("admin", "admin-password")
    numbers = [f"03800{i:02d}X00" for i in range(COUNT)]
    for number in numbers:
        school = create_cooperative(client, staff, number=number)
        submitted_guide(client, school, number=number)
        pay(app, number, YEAR, "439.25")
        client.patch(f"/api/adhesion/adhesions/{number}/{YEAR}/checklist", headers=staff, json={"engagement_signed": True})

    barrier = threading.Barrier(COUNT)
    answers = {}

    def validate(number):
        http = app.test_client()
        barrier.wait()
        answers[number] = http.post(f"/api/adhesion/adhesions/{number}/{YEAR}/validate", headers=staff, json={})

    threads = [threading.Thread(target=validate, args=(n,)) for n in numbers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(r.status_code == 200 for r in answers.values()), [r.json for r in answers.values() if r.status_code != 200]
    codes = sorted(r.json["registration_code"] for r in answers.values())
    assert codes == [f"26/{i:04d} A" for i in range(1, COUNT + 1)]
    listed = client.get(f"/api/adhesion/adhesions?year={YEAR}&status=validated", headers=staff).json["items"]
    assert sorted(item["registration_code"] for item in listed) == codes
