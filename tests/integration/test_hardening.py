"""Issue 13 against the real service apps (Flask test clients, SQLite and PostgreSQL, the
session's Redis): odd JSON on every endpoint of every service's OpenAPI document, identifiers
matched whole, the lower findings, and the cost of a refused login."""
import hashlib
import json

import pytest

from services.adhesion.models import Account, Adhesion, Cooperative, Department
from shared.auth import CLIENT_ADDRESS_HEADER, hash_password, signed_client_address
from shared.guard import MAX_DEPTH
from shared.service import shutdown
from tests.integration.test_adhesion_api import NUMBER, YEAR, create_cooperative, pay, school, submitted_guide  # noqa: F401 (fixture)
from tests.integration.test_openapi_fuzz import FACTORIES
from tests.support import GUIDE, prepared_app, test_settings

SURROGATE = '"\\ud800"'  # as JSON text: a lone UTF-16 high surrogate
LONG_INTEGER = "9" * 5000
DEEP = "[" * 3000 + "]" * 3000


@pytest.fixture
def services(tmp_path, redis_url):
    """Every service app on one DATA_DIR (one session store), and a staff token."""
    settings = test_settings(tmp_path, None, broker_url=redis_url)
    apps = {name: prepared_app(factory, settings) for name, factory in FACTORIES.items()}
    token = apps["adhesion"].test_client().post(
        "/api/auth/login", json={"login": "admin", "password": "admin-password"}).json["token"]
    yield apps, {"Authorization": f"Bearer {token}"}
    for app in apps.values():
        shutdown(app)


def json_operations(app):
    """(method, path, top-level field names) of every operation taking a JSON body."""
    spec = app.test_client().get(f"/api/{app.extensions['service'].name}/openapi.json").json
    schemas = spec.get("components", {}).get("schemas", {})
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in ("post", "put", "patch", "delete"):
                continue
            content = operation.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = content["application/json"]["schema"]
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
            fields = [name for name, prop in schema.get("properties", {}).items() if not prop.get("readOnly")]
            concrete = path.replace("{number}", NUMBER).replace("{year}", YEAR).replace("{id}", "1")
            yield method, concrete, fields or ["value"]


def test_odd_json_is_400_naming_the_field_on_every_json_endpoint(services):
    apps, staff = services
    seen = 0
    for name, app in apps.items():
        client = app.test_client()
        for method, path, fields in json_operations(app):
            seen += 1
            bodies = {
                "surrogate": ("{" + ",".join(f'"{f}":{SURROGATE}' for f in fields) + "}", set(fields)),
                "long integer": ("{" + ",".join(f'"{f}":{LONG_INTEGER}' for f in fields) + "}", set(fields)),
                "deep": ('{"' + fields[0] + '":' + DEEP + "}", {fields[0]}),
                "deep list": (DEEP, {"_json"}),
            }
            for headers in (staff, {}):  # refused before the token is even looked at
                for kind, (body, named) in bodies.items():
                    response = client.open(path, method=method.upper(), data=body, headers=headers,
                                           content_type="application/json")
                    assert response.status_code == 400, (name, method, path, kind, response.status_code, response.json)
                    assert set(response.json["fields"]) == named, (path, kind, response.json)
    assert seen >= 8  # login, cooperatives, rates, adhesion, correction, checklist, validate, payments...


def test_odd_json_never_reaches_the_data(services):
    apps, staff = services
    client = apps["adhesion"].test_client()
    login = client.post("/api/auth/login", data='{"login":' + SURROGATE + ',"password":"x"}',
                        content_type="application/json")
    assert login.status_code == 400 and login.json["fields"] == {"login": [login.json["fields"]["login"][0]]}
    nested = {**GUIDE, "classes": [{**GUIDE["classes"][0], "name": "\ud800"}]}
    body = json.dumps(nested)  # ensure_ascii: the surrogate travels as \ud800
    response = client.put(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", data=body, headers=staff,
                          content_type="application/json")
    assert response.status_code == 400 and "name" in response.json["fields"]["classes"]["0"]
    shallow = "[" * MAX_DEPTH + "]" * MAX_DEPTH  # the limit itself is still read (and refused by the schema)
    assert client.post("/api/auth/login", data=shallow, content_type="application/json").status_code == 422
    assert client.post("/api/auth/login", data='{"login":"a","password":NaN}',
                       content_type="application/json").status_code == 400


def test_identifiers_match_whole_and_codes_are_normalised(client, app, staff, school):
    """A trailing newline made a second "2025-2026\\n" year and a duplicate code."""
    assert client.put(f"/api/adhesion/rates/{YEAR}%0A", headers=staff, json=_rates(client, staff)).status_code == 400
    assert client.get(f"/api/adhesion/rates/{YEAR}%0A", headers=staff).status_code == 400
    assert client.get(f"/api/adhesion/cooperatives/{NUMBER}%0A", headers=staff).status_code == 400
    assert client.get(f"/api/adhesion/adhesions?year={YEAR}%0A", headers=staff).status_code == 422
    for number in ("0380001A00", "0380002A00"):
        create_cooperative(client, staff, number=number)
        submitted_guide(client, client.login(number, "ecole-secret"), number=number)
        pay(app, number, YEAR, "439.25")
        client.patch(f"/api/adhesion/adhesions/{number}/{YEAR}/checklist", headers=staff, json={"engagement_signed": True})
    first = client.post(f"/api/adhesion/adhesions/0380001A00/{YEAR}/validate", headers=staff,
                        json={"registration_code": " 26/0007  a "})
    assert first.status_code == 200 and first.json["registration_code"] == "26/0007 A"
    second = client.post(f"/api/adhesion/adhesions/0380002A00/{YEAR}/validate", headers=staff,
                         json={"registration_code": "26/0007 A\n"})
    assert second.status_code == 409 and "registration_code" in second.json["fields"]
    bad = client.post(f"/api/adhesion/adhesions/0380002A00/{YEAR}/validate", headers=staff,
                      json={"registration_code": "٢٦/0008 A"})
    assert bad.status_code == 422
    with app.extensions["service"].database.session() as session:
        codes = [a.registration_code for a in session.query(Adhesion).all() if a.registration_code]
    assert codes == ["26/0007 A"]


def _rates(client, staff):
    return {k: v for k, v in client.get(f"/api/adhesion/rates/{YEAR}", headers=staff).json.items()
            if k not in ("department", "year")}


def test_lower_findings(client, app, staff, school):
    url = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    for change, field in [
        ({"insurance": 1}, "insurance"),
        ({"payment": {"transfer": 0}}, "payment"),
        ({"goods_value": "١٢٣"}, "goods_value"),
        ({"goods_value": "２５００"}, "goods_value"),
        ({"goods_value": "1e3"}, "goods_value"),
        ({"goods_value": 12.5}, "goods_value"),
        ({"classes": [{"name": "École", "teacher_count": 1, "student_count": 1},
                      {"name": "E\u0301cole", "teacher_count": 1, "student_count": 1}]}, "classes"),
    ]:
        response = client.put(url, headers=staff, json={**GUIDE, **change})
        assert response.status_code == 422 and field in response.json["fields"], (change, response.json)
    saved = client.put(url, headers=staff, json={**GUIDE, "classes": [
        {"name": "E\u0301cole", "teacher_count": 1, "student_count": 1}]}).json
    assert saved["classes"][0]["name"] == "École"  # stored NFC

    def create(number, email):
        return client.post("/api/adhesion/cooperatives", headers=staff, json={
            "number": number, "name": "École", "town": "VIENNE", "email": email, "password": "ecole-secret"})

    for email in ("a@b.fr\u2028", "a@b.fr\n", "a b@c.fr", "élève@ecole.fr"):
        response = create("0389999Z00", email)
        assert response.status_code == 422 and "email" in response.json["fields"], (email, response.json)
    idn = create("0389999Z00", "directeur@école.fr")
    assert idn.status_code == 201 and idn.json["email"] == "directeur@xn--cole-9oa.fr"

    # Staff of another department learn nothing of a number's existence (403 before 409).
    with app.extensions["service"].database.session() as session:
        session.add(Department(code="73", name="OCCE de la Savoie", insurer="", insurer_contract=""))
        session.flush()
        session.add(Account(login="savoie", password_hash=hash_password("savoie-password"), role="staff",
                            department="73"))
    savoie = client.login("savoie", "savoie-password")
    response = client.post("/api/adhesion/cooperatives", headers=savoie, json={
        "number": NUMBER, "name": "X", "town": "Y", "email": "x@y.fr", "password": "ecole-secret"})
    assert response.status_code == 403
    with app.extensions["service"].database.session() as session:
        assert session.get(Cooperative, NUMBER).department == "38"


def test_refused_login_costs_no_password_hash(client, monkeypatch):
    """A flood of refused logins must not pay scrypt (it slowed every call 70×): the real
    scrypt runs, counted, for each checked attempt and never for a refused one."""
    header = {CLIENT_ADDRESS_HEADER: signed_client_address("test-secret", "10.9.9.9")}
    real_scrypt, hashes = hashlib.scrypt, []

    def counted_scrypt(*args, **kwargs):
        hashes.append(1)
        return real_scrypt(*args, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counted_scrypt)

    def attempt():
        return client.post("/api/auth/login", json={"login": "admin", "password": "wrong"}, headers=header).status_code

    assert {attempt() for _ in range(10)} == {401}
    assert len(hashes) == 10
    assert {attempt() for _ in range(10)} == {429}
    assert len(hashes) == 10  # refused before any password work


def test_a_path_id_beyond_any_key_is_404_not_an_overflow(services):
    """Found by schemathesis: ``/statements/9952143242797256248655872/...`` overflowed SQLite."""
    apps, staff = services
    client = apps["payment"].test_client()
    for path in ("/api/payment/statements/9952143242797256248655872/lines",
                 "/api/payment/statements/2147483648/lines"):
        response = client.get(path, headers=staff)
        assert response.status_code == 404 and response.json["error"] == "not_found", (path, response.json)
    assert client.get("/api/payment/statements/2147483647/lines", headers=staff).status_code == 404


# --- issue 24: logins (items 5, 6, 9) and issue 25 item 2 -----------------------------------------


def _from(address):
    return {CLIENT_ADDRESS_HEADER: signed_client_address("test-secret", address)}


def _login(client, login, password, address="10.24.0.1", **extra):
    return client.post("/api/auth/login", json={"login": login, "password": password, **extra},
                       headers=_from(address))


def test_a_device_token_lifts_the_throttle_for_the_right_password_only(client, school):
    device = _login(client, NUMBER, "ecole-secret", "10.24.1.1").json["device"]
    answers = [_login(client, NUMBER, "guess", "10.24.1.2", device=device).status_code for _ in range(40)]
    assert answers[:10] == [401] * 10 and set(answers[10:]) == {429}  # counted like any others
    assert _login(client, NUMBER, "ecole-secret", "10.24.1.2").status_code == 429  # the pair is held
    assert _login(client, NUMBER, "ecole-secret", "10.24.1.2", device=device).status_code == 200


def test_the_throttle_counts_a_login_whatever_its_case(client, school):
    for i in range(10):  # « 0382296p00 » and « 0382296P00 » are one login
        login = NUMBER.lower() if i % 2 else NUMBER
        assert _login(client, login, "guess", "10.24.2.1").status_code == 401
    assert _login(client, NUMBER.lower(), "ecole-secret", "10.24.2.1").status_code == 429
    assert _login(client, NUMBER, "ecole-secret", "10.24.2.1").status_code == 429
    # the per-login lockout too: 100 failures in an hour from everywhere, in mixed cases
    for address in range(9):
        for i in range(10):
            login = NUMBER.lower() if i % 2 else NUMBER
            assert _login(client, login, "guess", f"10.24.3.{address}").status_code == 401
    assert _login(client, NUMBER.lower(), "ecole-secret", "10.24.4.1").status_code == 429


def test_a_new_password_ends_the_device_tokens_of_the_old_one(client, school):
    old_device = _login(client, NUMBER, "ecole-secret", "10.24.5.1").json["device"]
    changed = client.post("/api/auth/password", headers=school, json={"current": "ecole-secret", "new": "nouveau-secret"})
    assert changed.status_code == 200 and changed.json["device"]
    for _ in range(10):
        _login(client, NUMBER, "guess", "10.24.5.2")
    assert _login(client, NUMBER, "nouveau-secret", "10.24.5.2", device=old_device).status_code == 429
    assert _login(client, NUMBER, "nouveau-secret", "10.24.5.2", device=changed.json["device"]).status_code == 200


def test_staff_logins_are_never_shaped_like_a_cooperative_number(client, staff, school):
    def create(login):
        return client.post("/api/adhesion/staff", headers=staff, json={
            "login": login, "password": "staff-secret", "department": "38", "email": "staff@occe38.fr"})

    for squat in ("0380099Z00", "0380004d00", NUMBER.lower(), " 0690501v00"):
        refused = create(squat)
        assert refused.status_code in (400, 422) and "login" in refused.json["fields"], squat
    assert create("secretariat38").status_code == 201
    again = create("Secretariat38")  # the same login in another case
    assert again.status_code == 409 and "login" in again.json["fields"]
    assert create("ADMIN").status_code == 409
    # the school's login in small letters reaches the school
    answer = client.post("/api/auth/login", json={"login": NUMBER.lower(), "password": "ecole-secret"})
    assert answer.status_code == 200 and answer.json["role"] == "school"


def test_a_lost_password_in_small_letters_sends_the_link(client, app, school):
    from tests.integration.test_departments import resets
    assert client.post("/api/auth/password-reset", json={"login": NUMBER.lower()}).status_code == 202
    [event] = resets(app)
    assert event["data"]["login"] == NUMBER and event["data"]["reason"] == "requested"


def test_reset_requests_are_capped_per_address(client, app, staff):
    from tests.integration.test_departments import resets
    numbers = [f"03824{i:02d}A00" for i in range(12)]
    for number in numbers:
        assert client.post("/api/adhesion/cooperatives", headers=staff, json={
            "number": number, "name": f"École {number}", "town": "VIENNE", "email": f"{number.lower()}@ecoles.fr",
            "password": "ecole-secret"}).status_code == 201
    answers = {client.post("/api/auth/password-reset", json={"login": number}, headers=_from("10.24.6.1")).json["status"]
               for number in numbers}
    assert answers == {"accepted"}  # the same answer beyond the cap: nothing to tell apart
    assert sorted(e["data"]["login"] for e in resets(app)) == numbers[:10]
    # another address is not held by that one, and the login throttle is not either
    assert client.post("/api/auth/password-reset", json={"login": numbers[11]}, headers=_from("10.24.6.2")).status_code == 202
    assert len(resets(app)) == 11
    assert _login(client, numbers[0], "ecole-secret", "10.24.6.1").status_code == 200


def test_a_pending_invitation_costs_what_a_real_account_costs(client, staff, school, monkeypatch):
    """An invited school without a password yet, a real account given a wrong password and
    a login no one has: each answer is the same 401 after exactly one scrypt of the same
    cost, so its time tells none apart. Counted, not timed: a timing ratio flips under a
    loaded machine's noise, the count does not."""
    import hashlib

    from tests.integration.test_departments import import_file, number_of, school_file
    assert import_file(client, staff, school_file(1)).status_code == 200
    real_scrypt, costs = hashlib.scrypt, []

    def counted(password, **parameters):
        costs.append((len(password) > 0, tuple(sorted((k, v) for k, v in parameters.items() if k != "salt"))))
        return real_scrypt(password, **parameters)

    monkeypatch.setattr(hashlib, "scrypt", counted)
    spent = {}
    for attempt, login in enumerate((NUMBER, number_of(1), "0389999Z99")):
        costs.clear()
        assert _login(client, login, "pas-le-bon", f"10.24.9.{attempt}").status_code == 401
        spent[login] = list(costs)
    real = spent[NUMBER]
    assert len(real) == 1 and spent[number_of(1)] == real and spent["0389999Z99"] == real, spent
