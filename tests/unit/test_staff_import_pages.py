"""The staff's bulk import pages (web/staff/cooperatives.py), the API's answers given: a
previewed file is confirmed by its own department only and waits an hour at most; the
follow-up page compares moments however they are written (issue 24, items 7 and 8)."""
import io
import os
import re
import time
from pathlib import Path

import pytest

from web import client as web_client
from web.app import create_app
from web.security import seal
from web.staff import cooperatives

PREVIEW = {"created": 1, "updated": 0, "unchanged": 0, "errors": [], "dry_run": True,
           "rows": [{"line": 2, "number": "0382296P00", "name": "École Jean Moulin", "town": "VIENNE",
                     "email": "a@b.fr", "action": "created"}]}
DONE = {"created": 1, "updated": 0, "unchanged": 0, "errors": [], "dry_run": False, "rows": []}
BODY = b"number;name;town;email\n0382296P00;Ecole Jean Moulin;VIENNE;a@b.fr\n"


@pytest.fixture
def web(tmp_path, monkeypatch):
    """The pages' app; each API call is recorded with the department of the page's session
    and answered by ``app.answer``."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    app = create_app()
    app.calls = []

    def call(method, path, **kwargs):
        app.calls.append((method, path, kwargs.get("params")))
        return app.answer(method, path, kwargs) if callable(app.answer) else app.answer

    monkeypatch.setattr(web_client, "call", call)
    return app


def staff_of(app, department: str):
    http = app.test_client()
    with app.test_request_context():
        token = seal(f"token-{department}")
    with http.session_transaction() as session:
        session.update(token=token, role="staff", login=f"staff{department}", department=department, csrf="jeton")
    return http


def staged(app, http) -> str:
    """Upload the file; the preview page's form names the token to confirm."""
    app.answer = PREVIEW
    page = http.post("/personnel/cooperatives/import", data={"csrf_token": "jeton", "file": (io.BytesIO(BODY), "ecoles.csv")},
                     content_type="multipart/form-data")
    assert page.status_code == 200, page.text
    return re.search(r'action="/personnel/cooperatives/import/([A-Za-z0-9_-]{22})"', page.text).group(1)


def test_a_staged_import_is_confirmed_by_its_own_department_only(web):
    isere, rhone = staff_of(web, "38"), staff_of(web, "69")
    token = staged(web, isere)
    web.calls.clear()
    web.answer = DONE
    assert rhone.post(f"/personnel/cooperatives/import/{token}", data={"csrf_token": "jeton"}).status_code == 404
    assert web.calls == []  # the file never reached the API with the other department's token
    confirmed = isere.post(f"/personnel/cooperatives/import/{token}", data={"csrf_token": "jeton"})
    assert confirmed.status_code == 302 and "/import/suivi" in confirmed.headers["Location"]
    assert [(method, path) for method, path, _ in web.calls] == [("post", "/api/adhesion/cooperatives/import")]
    assert list(Path(web.config["IMPORT_DIR"]).rglob("*.csv")) == []  # confirmed: deleted
    assert isere.post(f"/personnel/cooperatives/import/{token}", data={"csrf_token": "jeton"}).status_code == 404


def test_a_staged_import_expires_after_an_hour_and_is_purged(web):
    isere = staff_of(web, "38")
    old, recent = staged(web, isere), staged(web, isere)
    directory = Path(web.config["IMPORT_DIR"]) / "38"
    hour_ago = time.time() - cooperatives.STAGED_FOR.total_seconds() - 1
    os.utime(directory / f"{old}.csv", (hour_ago, hour_ago))
    web.calls.clear()
    assert isere.post(f"/personnel/cooperatives/import/{old}", data={"csrf_token": "jeton"}).status_code == 404
    assert web.calls == [] and not (directory / f"{old}.csv").exists()  # purged when an import is confirmed
    assert (directory / f"{recent}.csv").exists()
    os.utime(directory / f"{recent}.csv", (hour_ago, hour_ago))
    staged(web, staff_of(web, "69"))  # and when another is staged, whichever department's it is
    assert not (directory / f"{recent}.csv").exists()


@pytest.mark.parametrize("since", ["2026-09-01T08:00:00", "2026-09-01T08:00:00+00:00", "2026-09-01T10:00:00+02:00"])
def test_the_follow_up_page_counts_whatever_offset_the_moments_carry(web, since):
    """``depuis`` typed by hand without an offset, or an answer without one, is UTC; the
    page counted by comparing naive with aware moments (a 500)."""
    web.answer = {"items": [
        {"created_at": "2026-09-01T08:00:01+00:00", "status": "sent"},
        {"created_at": "2026-09-01T08:00:02", "status": "failed"},
        {"created_at": "2026-09-01T07:59:59+00:00", "status": "sent"},  # before the import: not counted
    ]}
    page = staff_of(web, "38").get("/personnel/cooperatives/import/suivi", query_string={"total": "2", "depuis": since})
    assert page.status_code == 200, page.text
    assert [params for _, _, params in web.calls] == [{"kind": "invitation", "limit": 5000}]
    assert "Invitations envoyées : 1 sur 2 (1 en échec)" in page.text
