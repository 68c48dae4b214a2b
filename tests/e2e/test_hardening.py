"""Issue 13 over HTTP against the running system (gunicorn, PostgreSQL, Redis, workers,
a real SMTP server): the login throttle seen from several addresses through the pages,
the known browser, the reset link, logout and password change revoking tokens, the
413 of a chunked body and the security headers."""
import base64
import json
import re
import zlib

import pytest
import requests

from deploy.stack import Stack
from tests.support import school_email, wait_for

PASSWORD = "ecole-secret"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


# Behind a proxy (as behind nginx): X-Forwarded-For is the browser's address, which lets
# one test speak from several.
SYSTEM_ENV = {"TRUSTED_PROXIES": "1"}


@pytest.fixture
def school(stack, number):
    """A cooperative of this test's own: the throttle, sessions and password it touches are its own."""
    staff = stack.login("admin", "admin-password")
    created = stack.call("post", "/api/adhesion/cooperatives", staff, json={
        "number": number, "name": "Coopérative Scolaire Jean Moulin", "town": "VIENNE",
        "email": school_email(number), "password": PASSWORD})
    assert created.status_code == 201, created.text
    return number


class Browser:
    """A person at one address using the pages: cookies kept, CSRF token read from the form."""

    def __init__(self, stack: Stack, address: str):
        self.base = stack.base
        self.http = requests.Session()
        self.http.headers["X-Forwarded-For"] = address

    def page(self, path: str) -> requests.Response:
        return self.http.get(self.base + path, timeout=30)

    def post(self, path: str, form: dict) -> requests.Response:
        csrf = CSRF.search(self.page(path).text).group(1)
        return self.http.post(self.base + path, data={**form, "csrf_token": csrf}, timeout=30, allow_redirects=False)

    def login(self, login: str, password: str) -> requests.Response:
        return self.post("/connexion", {"login": login, "password": password})

    def logout(self) -> requests.Response:
        csrf = CSRF.search(self.page("/").text).group(1)
        return self.http.post(self.base + "/deconnexion", data={"csrf_token": csrf}, timeout=30, allow_redirects=False)


def signed_in(response: requests.Response) -> bool:
    return response.status_code == 302 and response.headers["Location"].endswith("/")


def api_login(stack, login, password, address, **extra):
    return stack.call("post", "/api/auth/login", json={"login": login, "password": password, **extra},
                      headers={"X-Forwarded-For": address})


def test_throttle_from_several_addresses_known_browser_and_reset_link(stack, sink, school):
    home = Browser(stack, "10.1.0.1")
    assert signed_in(home.login(school, PASSWORD))
    assert home.http.cookies.get("retkoop_device")
    assert home.logout().status_code == 302

    # A stranger who knows the (public) number: ten failures lock that stranger's pair only.
    stranger = Browser(stack, "10.66.0.1")
    for _ in range(10):
        assert stranger.login(school, "guess").status_code == 401
    assert stranger.login(school, "guess").status_code == 429
    assert stranger.login(school, PASSWORD).status_code == 429  # the pair is locked, right password included
    assert signed_in(Browser(stack, "10.1.0.2").login(school, PASSWORD))  # the school, elsewhere, is not

    # Password spraying: 30 failures from one address, whatever the logins, and that
    # address learns nothing more: the right password answers 429 too.
    sprayer = Browser(stack, "10.77.0.1")
    for i in range(30):
        assert sprayer.login(f"03800{i:02d}X00", "azerty123").status_code == 401
    assert sprayer.login(school, "azerty123").status_code == 429
    assert sprayer.login(school, PASSWORD).status_code == 429

    # 100 failures in an hour from every address lock the login (the 10 of the stranger
    # count), and the school gets a reset link by email.
    for address in range(9):
        for _ in range(10):
            assert api_login(stack, school, "guess", f"10.88.0.{address}").status_code == 401
    locked = Browser(stack, "10.1.0.3").login(school, PASSWORD)
    assert locked.status_code == 429 and "lien" in locked.text
    # ... but never the browser that logged in before, with the right password.
    assert signed_in(home.login(school, PASSWORD))
    assert home.login(school, "guess").status_code == 429  # its wrong passwords are held like anyone's

    reset = wait_for(lambda: [m for m in sink.messages() if m["X-Retkoop-Kind"] == "password_reset"
                                   and m["To"] == school_email(school)],
                     timeout=60, what="the reset email")
    assert len(reset) == 1
    text = reset[0].get_body(("plain",)).get_content()
    link = re.search(r"(http://\S+/mot-de-passe/nouveau/\S+)", text).group(1)
    path = link[len(stack.base):]
    helper = Browser(stack, "10.1.0.4")
    assert helper.page(path).status_code == 200
    done = helper.post(path, {"password": "nouveau-secret", "again": "nouveau-secret"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/connexion")
    assert helper.post(path, {"password": "autre-secret", "again": "autre-secret"}).status_code == 400  # once
    assert signed_in(Browser(stack, "10.1.0.5").login(school, "nouveau-secret"))
    assert Browser(stack, "10.1.0.6").login(school, PASSWORD).status_code == 401
    # The session the known browser opened with the old password is closed too.
    assert home.page("/").url.endswith("/connexion")


def test_device_token_is_bound_to_its_login(stack, school):
    device = api_login(stack, "admin", "admin-password", "10.2.0.1").json()["device"]
    for _ in range(10):
        api_login(stack, school, "guess", "10.2.0.9")
    # admin's device token does not unlock the school's login for that address
    assert api_login(stack, school, PASSWORD, "10.2.0.9", device=device).status_code == 429
    school_device = api_login(stack, school, PASSWORD, "10.2.0.2").json()["device"]
    forged = school_device[:-4] + ("AAAA" if not school_device.endswith("AAAA") else "BBBB")
    assert api_login(stack, school, PASSWORD, "10.2.0.9", device=forged).status_code == 429
    # a wrong password with the device token is held like any other (issue 24 item 5)
    assert api_login(stack, school, "guess", "10.2.0.9", device=school_device).status_code == 429
    # the login typed in small letters is the same login (held), with the same device token
    assert api_login(stack, school.lower(), PASSWORD, "10.2.0.9").status_code == 429
    assert api_login(stack, school.lower(), PASSWORD, "10.2.0.9", device=school_device).status_code == 200


def test_logout_and_password_change_revoke_tokens_in_every_service(stack, school):
    def reads(token):
        """The status each service answers this token."""
        return {
            "adhesion": stack.call("get", f"/api/adhesion/cooperatives/{school}", token).status_code,
            "payment": stack.call("get", f"/api/payment/dues/{school}/2025-2026", token).status_code,
            "documents": stack.call("get", f"/api/documents/{school}/2025-2026", token).status_code,
            "rates": stack.call("get", "/api/adhesion/rates/2025-2026", token).status_code,
        }

    first, second, third = (stack.login(school, PASSWORD) for _ in range(3))
    assert 401 not in reads(first).values()
    assert stack.call("post", "/api/auth/logout", first).status_code == 204
    assert set(reads(first).values()) == {401}
    assert 401 not in reads(second).values()

    changed = stack.call("post", "/api/auth/password", second, json={"current": PASSWORD, "new": "nouveau-secret"})
    assert changed.status_code == 200 and changed.json()["closed_sessions"] == 1
    assert set(reads(third).values()) == {401}  # every other session of the account
    assert 401 not in reads(second).values()  # this one stays
    wrong = stack.call("post", "/api/auth/password", second, json={"current": "nope", "new": "encore-autre"})
    assert wrong.status_code == 422 and "current" in wrong.json()["fields"]
    assert api_login(stack, school, PASSWORD, "10.3.0.1").status_code == 401
    assert api_login(stack, school, "nouveau-secret", "10.3.0.1").status_code == 200

    staff = stack.login("admin", "admin-password")
    assert stack.call("get", "/api/notify/messages", staff).status_code == 200
    assert stack.call("post", "/api/auth/logout", staff).status_code == 204
    assert stack.call("get", "/api/notify/messages", staff).status_code == 401


def _session_data(cookie: str) -> dict:
    """What Flask's signed (not encrypted) session cookie lets anyone read."""
    payload = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    if cookie.startswith("."):
        raw = zlib.decompress(raw)
    return json.loads(raw)


def test_pages_keep_no_readable_token_and_logout_ends_the_cookie(stack, school):
    browser = Browser(stack, "10.4.0.1")
    assert signed_in(browser.login(school, PASSWORD))
    cookie = browser.http.cookies.get("retkoop_session")
    stored = _session_data(cookie)["token"]
    assert stack.call("get", f"/api/adhesion/cooperatives/{school}", stored).status_code == 401  # sealed
    assert browser.page("/accueil").status_code == 200

    page = browser.page("/mot-de-passe")
    assert page.status_code == 200 and "Changer mon mot de passe" in page.text
    other = stack.login(school, PASSWORD)
    changed = browser.post("/mot-de-passe", {"current": PASSWORD, "new": "nouveau-secret", "again": "nouveau-secret"})
    assert changed.status_code == 302
    assert stack.call("get", f"/api/adhesion/cooperatives/{school}", other).status_code == 401
    assert browser.page("/accueil").status_code == 200  # the page session that changed it stays

    assert browser.logout().status_code == 302
    replay = requests.Session()
    replay.cookies.set("retkoop_session", cookie)
    again = replay.get(stack.base + "/accueil", timeout=30, allow_redirects=False)
    assert again.status_code == 302 and again.headers["Location"].endswith("/connexion")  # the old cookie is dead too


def test_chunked_body_over_256_kb_is_413_and_answers_carry_security_headers(stack):
    def chunks():  # no Content-Length: the server learns the size only by reading
        yield b'{"login":"admin","password":"'
        for _ in range(40):
            yield b"x" * 8000
        yield b'"}'

    response = requests.post(f"{stack.base}/api/auth/login", data=chunks(), timeout=30,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["error"] == "payload_too_large", response.text
    for path in ("/api/adhesion/health", "/api/auth/login", "/verify/unknown-token-0000000000"):
        answer = requests.get(stack.base + path, timeout=30)
        assert answer.headers["X-Content-Type-Options"] == "nosniff", path
        assert "frame-ancestors 'none'" in answer.headers["Content-Security-Policy"], path
        assert answer.headers["X-Frame-Options"] == "DENY", path
