"""A database that cannot be reached is a 503 with Retry-After, never a 500, and changes
nothing (docs/http.md §4): the test's own PostgreSQL database refuses connections (its
sessions ended, ALLOW_CONNECTIONS false) while a school saves and staff read."""
from contextlib import contextmanager

import psycopg

from services.adhesion.app import create_app
from tests.integration.test_adhesion_api import NUMBER, YEAR, create_cooperative
from tests.support import GUIDE, Client, pg_admin_url

ADHESION = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"


@contextmanager
def refusing_connections(database_url: str):
    name = database_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_admin_url(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


def test_an_unreachable_database_answers_503_with_retry_after_and_changes_nothing(make_app, pg_url):
    client = Client(make_app(create_app, pg_url))
    staff = client.login("admin", "admin-password")
    school = create_cooperative(client, staff)
    assert client.put(ADHESION, headers=school, json=GUIDE).status_code == 200
    with refusing_connections(pg_url):
        saved = client.put(ADHESION, headers=school, json={**GUIDE, "insurance": False})
        read = client.get(f"/api/adhesion/cooperatives/{NUMBER}", headers=staff)
    for answer in (saved, read):
        assert answer.status_code == 503, (answer.status_code, answer.get_data(as_text=True)[:300])
        assert int(answer.headers["Retry-After"]) > 0 and answer.json["error"]
    assert client.get(ADHESION, headers=school).json["insurance"] is True  # the refused save changed nothing
