"""The adhesion service over HTTP, on SQLite and on PostgreSQL, with the real Redis broker."""
import json
from datetime import date

import pytest
import redis
from sqlalchemy import func, select

from contracts import payment as payment_events
from services.adhesion import domain
from services.adhesion.app import create_app
from services.adhesion.handlers import on_payment_received
from services.adhesion.models import Account, Department, OutboxEvent, ProcessedEvent
from shared import schoolyear
from shared.auth import hash_password
from shared.service import shutdown
from tests.support import GUIDE, prepared_app, test_settings, wait_for

NUMBER = "0382296P00"
YEAR = "2025-2026"


def create_cooperative(client, staff, number=NUMBER, password="ecole-secret"):
    response = client.post("/api/adhesion/cooperatives", headers=staff, json={
        "number": number, "name": "Coopérative Scolaire de l'École Élémentaire Jean Moulin",
        "town": "VIENNE", "email": "ce.0382296p@ac-grenoble.fr", "password": password,
    })
    assert response.status_code == 201, response.json
    return client.login(number, password)


@pytest.fixture
def school(client, staff):
    return create_cooperative(client, staff)


def outbox_rows(app, event_type=None):
    """The service's own events (its audit records, audit.recorded, are tested in test_audit)."""
    with app.extensions["service"].database.session() as session:
        query = select(OutboxEvent).where(OutboxEvent.type != "audit.recorded").order_by(OutboxEvent.id)
        if event_type:
            query = query.where(OutboxEvent.type == event_type)
        return session.scalars(query).all()


def pay(app, number, year, amount, count=1, methods=("cheque",), **extra):
    envelope = payment_events.RECEIVED.build({
        "cooperative": number, "year": year, "department": "38", "amount_paid": amount,
        "amount_due": amount, "payments_count": count, "methods": list(methods), "status": "paid", **extra,
    }).to_dict()
    with app.app_context():
        return on_payment_received(envelope), envelope


def submitted_guide(client, school, number=NUMBER):
    assert client.put(f"/api/adhesion/adhesions/{number}/{YEAR}", headers=school, json=GUIDE).status_code == 200
    response = client.post(f"/api/adhesion/adhesions/{number}/{YEAR}/submit", headers=school)
    assert response.status_code == 200, response.json
    return response.json


def test_guide_example_totals_and_amounts(client, school):
    response = client.put(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", headers=school, json=GUIDE)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["totals"] == {"teachers": 10, "students": 165, "cooperators": 175}
    assert body["amounts"] == {"membership": "395.50", "insurance": "43.75", "goods": "0.00",
                               "instruments": "0.00", "total": "439.25"}
    assert body["status"] == "draft"
    response = client.put(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", headers=school,
                          json={**GUIDE, "goods_value": "5000.00"})
    assert response.json["amounts"]["goods"] == "20.64"
    assert client.get(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", headers=school).json["goods_value"] == "5000.00"


BAD_INPUTS = [
    ({**GUIDE, "classes": [{**GUIDE["classes"][0], "teacher_count": -1}]}, "classes"),
    ({**GUIDE, "classes": [{**GUIDE["classes"][0], "student_count": 2.5}]}, "classes"),
    ({**GUIDE, "classes": [{**GUIDE["classes"][0], "student_count": 5001}]}, "classes"),
    ({**GUIDE, "classes": [{**GUIDE["classes"][0], "student_count": "165"}]}, "classes"),
    ({**GUIDE, "goods_value": "10.005"}, "goods_value"),
    ({**GUIDE, "goods_value": "-1.00"}, "goods_value"),
    ({**GUIDE, "instruments_value": "1000000.01"}, "instruments_value"),
    ({**GUIDE, "colour": "blue"}, "colour"),
    ({**GUIDE, "classes": GUIDE["classes"] * 2}, "classes"),
    ({**GUIDE, "classes": [{**GUIDE["classes"][0], "name": "x" * 101}]}, "classes"),
    ({**GUIDE, "insurance": "oui"}, "insurance"),
    ({**GUIDE, "goods_value": "1e400"}, "goods_value"),
    ({**GUIDE, "goods_value": 1e308}, "goods_value"),
    ({**GUIDE, "goods_value": "NaN"}, "goods_value"),
    ({**GUIDE, "classes": [{**GUIDE["classes"][0], "name": "CM\u00002"}]}, "classes"),
    ({**GUIDE, "classes": [{**GUIDE["classes"][0], "name": "   "}]}, "classes"),
    ({k: v for k, v in GUIDE.items() if k != "classes"}, "classes"),
]


def test_bad_input_names_the_field_and_changes_nothing(client, school):
    url = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    before = client.put(url, headers=school, json=GUIDE).json
    for body, field in BAD_INPUTS:
        response = client.put(url, headers=school, json=body)
        assert response.status_code == 422, (body, response.json)
        assert field in response.json["fields"], (field, response.json)
        assert response.json["error"] == "validation_error"
    for raw, status in [("", 422), ("not json", 400), ("x" * (1024 * 1024), 413)]:
        response = client.put(url, headers={**school, "Content-Type": "application/json"}, data=raw)
        assert response.status_code == status, (raw[:20], response.status_code, response.data[:200])
        assert set(response.json) >= {"error", "message", "fields"}
    for bad_url, field in [(f"/api/adhesion/adhesions/{NUMBER}/2025-2027", "year"),
                           (f"/api/adhesion/adhesions/{NUMBER}/25-26", "year"),
                           (f"/api/adhesion/adhesions/0382296p00/{YEAR}", "number")]:
        response = client.put(bad_url, headers=school, json=GUIDE)
        assert response.status_code in (400, 422) and field in response.json["fields"], response.json
    assert client.get(url, headers=school).json == before


def test_declared_values_default_to_zero(client, school):
    body = {k: v for k, v in GUIDE.items() if k not in ("goods_value", "instruments_value", "payment")}
    response = client.put(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", headers=school, json=body)
    assert response.status_code == 200, response.json
    assert (response.json["goods_value"], response.json["amounts"]["total"]) == ("0.00", "439.25")
    assert response.json["payment"] == {"transfer": False, "cheque": False, "other": False}


def test_duplicate_class_names_named_in_error(client, school):
    body = {**GUIDE, "classes": [GUIDE["classes"][0], {**GUIDE["classes"][0], "name": "Ecole Entiere"}]}
    response = client.put(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", headers=school, json=body)
    assert response.status_code == 422
    assert "1" in response.json["fields"]["classes"]


def test_submission_needs_payment_means_and_is_flagged_late(client, school):
    url = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    client.put(url, headers=school, json={**GUIDE, "payment": {"transfer": False, "cheque": False, "other": False}})
    response = client.post(f"{url}/submit", headers=school)
    assert response.status_code == 422 and "payment" in response.json["fields"]
    assert outbox_rows(client.app) == []
    client.put(url, headers=school, json=GUIDE)
    body = client.post(f"{url}/submit", headers=school).json
    assert body["status"] == "submitted" and body["late"] is True  # the 2025 window is over


def test_submission_inside_window_is_not_late(client, staff, school):
    # today's school year, its window as wide as allowed (from 1 March before it to 31 August)
    year = schoolyear.of(date.today())
    opens, closes = domain.renewal_bounds(year)
    card = client.get(f"/api/adhesion/rates/{YEAR}", headers=staff).json
    card = {k: v for k, v in card.items() if k not in ("department", "year")}
    card.update(renewal_opens=str(opens), renewal_closes=str(closes))
    assert client.put(f"/api/adhesion/rates/{year}", headers=staff, json=card).status_code == 200
    url = f"/api/adhesion/adhesions/{NUMBER}/{year}"
    assert client.put(url, headers=school, json=GUIDE).status_code == 200
    assert client.post(f"{url}/submit", headers=school).json["late"] is False


def test_rates_of_the_department(client, staff, school):
    body = client.get(f"/api/adhesion/rates/{YEAR}", headers=school).json
    assert (body["fee_per_student"], body["goods_rate"], body["goods_threshold"]) == ("2.26", "0.00688", "2000.00")
    assert client.put(f"/api/adhesion/rates/{YEAR}", headers=school, json={}).status_code == 403
    assert client.get("/api/adhesion/rates/2030-2031", headers=school).status_code == 404


def test_a_new_year_is_proposed_last_years_rates_a_year_later(client, staff, school):
    own = client.get(f"/api/adhesion/rates/{YEAR}/proposal", headers=staff).json
    assert own["carried_from"] is None and own["fee_per_student"] == "2.26"
    card = {k: v for k, v in own.items() if k not in ("department", "year", "carried_from")}
    card.update(renewal_opens="2030-03-20", renewal_closes="2030-10-15", fee_per_student="2.31")
    assert client.put("/api/adhesion/rates/2030-2031", headers=staff, json=card).status_code == 200
    proposal = client.get("/api/adhesion/rates/2031-2032/proposal", headers=staff).json
    assert proposal["carried_from"] == "2030-2031"
    assert (proposal["fee_per_student"], proposal["renewal_opens"], proposal["renewal_closes"]) == (
        "2.31", "2031-03-20", "2031-10-15")
    assert client.get("/api/adhesion/rates/2033-2034/proposal", headers=staff).status_code == 404
    assert client.get("/api/adhesion/rates/2031-2032/proposal", headers=school).status_code == 403


def test_school_sees_only_its_cooperative_and_no_staff_call(client, staff, school):
    other = create_cooperative(client, staff, number="0380001A00")
    submitted_guide(client, other, number="0380001A00")
    for method, url in [
        ("get", "/api/adhesion/adhesions/0380001A00/2025-2026"),
        ("put", "/api/adhesion/adhesions/0380001A00/2025-2026"),
        ("get", "/api/adhesion/cooperatives/0380001A00"),
        ("get", "/api/adhesion/adhesions/0389999Z00/2025-2026"),
    ]:
        response = getattr(client, method)(url, headers=school, json=GUIDE if method == "put" else None)
        assert response.status_code == 403, (url, response.json)
    staff_calls = [
        ("get", "/api/adhesion/adhesions?year=2025-2026", None),
        ("post", "/api/adhesion/cooperatives", {"number": "0380002B00", "name": "x", "town": "y",
                                                "email": "a@b.fr", "password": "12345678"}),
        ("post", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/validate", {}),
        ("post", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/request-correction", {"message": "x"}),
        ("patch", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/checklist", {"engagement_signed": True}),
        ("post", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/reopen", None),
    ]
    for method, url, body in staff_calls:
        assert getattr(client, method)(url, headers=school, json=body).status_code == 403, url
    assert client.get(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}").status_code == 401


def test_staff_of_another_department_get_403(client, app, school):
    with app.extensions["service"].database.session() as session:
        session.add(Department(code="73", name="OCCE de la Savoie", insurer="", insurer_contract=""))
        session.flush()
        session.add(Account(login="savoie", password_hash=hash_password("savoie-password"), role="staff",
                            department="73"))
    savoie = client.login("savoie", "savoie-password")
    for url in [f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", f"/api/adhesion/cooperatives/{NUMBER}"]:
        assert client.get(url, headers=savoie).status_code == 403
    assert client.post(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/validate", headers=savoie, json={}).status_code == 403
    assert client.get("/api/adhesion/adhesions", headers=savoie).json["items"] == []


def test_login_errors_and_throttle(client, staff):
    unknown = client.post("/api/auth/login", json={"login": "nobody", "password": "x"})
    wrong = client.post("/api/auth/login", json={"login": "admin", "password": "wrong"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json["message"] == wrong.json["message"]
    for _ in range(9):  # ten failures of the pair (login, address) in all
        assert client.post("/api/auth/login", json={"login": "admin", "password": "wrong"}).status_code == 401
    assert client.post("/api/auth/login", json={"login": "admin", "password": "wrong"}).status_code == 429
    assert client.post("/api/auth/login", json={"login": "admin", "password": "admin-password"}).status_code == 429
    # another login from the same address is not the pair: the address limit is 30
    assert client.post("/api/auth/login", json={"login": "other", "password": "x"}).status_code == 401


def test_throttle_counts_the_address_the_pages_vouch_for(client, staff):
    from shared.auth import CLIENT_ADDRESS_HEADER, signed_client_address

    def attempt(address, signer="test-secret"):
        header = {CLIENT_ADDRESS_HEADER: signed_client_address(signer, address)}
        return client.post("/api/auth/login", json={"login": f"user-{address}", "password": "x"}, headers=header)

    for i in range(10):
        assert attempt(f"10.0.0.{i}").status_code == 401  # ten people, one typo each
    assert attempt("10.0.0.99").status_code == 401  # not blocked: each has their own address
    for _ in range(10):
        attempt("10.0.0.50")
    assert attempt("10.0.0.50").status_code == 429
    for i in range(30):  # now from the connection's own address, without the pages
        client.post("/api/auth/login", json={"login": f"direct-{i}", "password": "x"})
    assert client.post("/api/auth/login", json={"login": "direct-x", "password": "x"}).status_code == 429
    assert attempt("10.0.0.77", signer="not-the-secret").status_code == 429  # a forged header does not help


def test_carry_over_from_previous_year(client, school):
    previous = {**GUIDE, "classes": [{"name": "CP", "teachers": "Mme Roux", "teacher_count": 1, "student_count": 24},
                                     {"name": "CE1", "teachers": "M. Blanc", "teacher_count": 1, "student_count": 22}]}
    assert client.put(f"/api/adhesion/adhesions/{NUMBER}/2024-2025", headers=school, json=previous).status_code == 200
    body = client.get(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", headers=school).json
    assert body["status"] == "draft"
    assert [(c["name"], c["teachers"], c["teacher_count"], c["student_count"]) for c in body["classes"]] == [
        ("CP", "Mme Roux", 0, 0), ("CE1", "M. Blanc", 0, 0)]
    assert body["insurance"] is GUIDE["insurance"] is True  # last year's answer, not « non »
    # the school's pages read how to pay its association from the answer
    assert body["department"]["name"] == "OCCE de l'Isère" and set(body["department"]) >= {
        "address", "phone", "email", "payee", "iban", "bic"}


def test_workflow_events_each_written_once_and_published_once(client, app, staff, school, redis_url):
    url = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    submitted_guide(client, school)
    response = client.post(f"{url}/request-correction", headers=staff, json={"message": "Merci de préciser les classes."})
    assert response.json["status"] == "correction_requested"
    assert response.json["correction_message"] == "Merci de préciser les classes."
    assert client.post(f"{url}/submit", headers=school).json["status"] == "submitted"
    unmet = client.post(f"{url}/validate", headers=staff, json={})
    assert unmet.status_code == 409 and unmet.json["unmet"] == ["payment", "engagement"]
    pay(app, NUMBER, YEAR, "439.25")
    assert client.patch(f"{url}/checklist", headers=staff, json={"engagement_signed": True}).status_code == 200
    validated = client.post(f"{url}/validate", headers=staff, json={})
    assert validated.status_code == 200 and validated.json["registration_code"] == "26/0001 A"
    again = client.post(f"{url}/validate", headers=staff, json={})
    assert again.status_code == 200 and again.json["registration_code"] == "26/0001 A"

    types = [row.type for row in outbox_rows(app)]
    assert types == ["adhesion.submitted", "adhesion.correction_requested", "adhesion.submitted", "adhesion.validated"]
    wait_for(lambda: all(row.published_at for row in outbox_rows(app)), what="the relay to publish the outbox")
    assert [row.attempts for row in outbox_rows(app)] == [1, 1, 1, 1]
    queues = redis.Redis.from_url(redis_url)
    # payment: two submissions and the validation; notify: two acknowledgements and the
    # correction request; documents and the ledger: the validation
    assert [queues.llen(q) for q in ("payment", "notify", "documents", "ledger")] == [3, 3, 1, 1]
    validated_event = json.loads(outbox_rows(app, "adhesion.validated")[0].payload)
    assert validated_event["data"]["registration_code"] == "26/0001 A"
    assert validated_event["data"]["amounts"]["total"] == "439.25"
    assert validated_event["data"]["cooperative"]["email"] == "ce.0382296p@ac-grenoble.fr"


def test_reopen_keeps_code_and_revalidation_is_a_new_version(client, app, staff, school):
    url = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    submitted_guide(client, school)
    pay(app, NUMBER, YEAR, "439.25")
    client.patch(f"{url}/checklist", headers=staff, json={"engagement_signed": True})
    assert client.post(f"{url}/validate", headers=staff, json={"registration_code": "26/0042 A"}).json[
        "registration_code"] == "26/0042 A"
    assert client.put(url, headers=school, json=GUIDE).status_code == 409  # read-only once validated
    reopened = client.post(f"{url}/reopen", headers=staff)
    assert reopened.json["status"] == "submitted" and reopened.json["registration_code"] == "26/0042 A"
    body = client.post(f"{url}/validate", headers=staff, json={}).json
    assert (body["status"], body["registration_code"], body["version"]) == ("validated", "26/0042 A", 2)
    versions = [json.loads(r.payload)["data"]["version"] for r in outbox_rows(app, "adhesion.validated")]
    assert versions == [1, 2]


def test_receipt_date_of_the_payment_reaches_the_validated_event(client, app, staff, school):
    url = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    submitted_guide(client, school)
    pay(app, NUMBER, YEAR, "200.00", count=1, last_received_on="2025-09-12")
    pay(app, NUMBER, YEAR, "439.25", count=2, last_received_on="2025-10-14")
    client.patch(f"{url}/checklist", headers=staff, json={"engagement_signed": True})
    assert client.post(f"{url}/validate", headers=staff, json={}).status_code == 200
    event = json.loads(outbox_rows(app, "adhesion.validated")[0].payload)
    assert event["data"]["paid_on"] == "2025-10-14"  # the certificate covers from then


def test_payment_received_applied_once_and_newest_wins(client, app, staff, school):
    submitted_guide(client, school)
    applied, envelope = pay(app, NUMBER, YEAR, "200.00", count=1)
    assert applied is True
    with app.app_context():
        assert on_payment_received(envelope) is False  # re-delivered
    pay(app, NUMBER, YEAR, "439.25", count=2, methods=("cheque", "transfer"))
    pay(app, NUMBER, YEAR, "200.00", count=1)  # an older state arriving late
    checklist = client.get(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", headers=staff).json["checklist"]
    assert checklist["amount_paid"] == "439.25" and checklist["payment_received"] is True
    assert checklist["payment_methods"] == ["cheque", "transfer"]
    with app.extensions["service"].database.session() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedEvent)) == 3  # three distinct events


def test_staff_list_with_filters(client, app, staff, school):
    submitted_guide(client, school)
    other = create_cooperative(client, staff, number="0380001A00")
    client.put(f"/api/adhesion/adhesions/0380001A00/{YEAR}", headers=other, json=GUIDE)
    body = client.get(f"/api/adhesion/adhesions?year={YEAR}", headers=staff).json
    assert len(body["items"]) == 2 and body["counts"]["submitted"] == 1 and body["counts"]["draft"] == 1
    only = client.get(f"/api/adhesion/adhesions?year={YEAR}&status=submitted", headers=staff).json["items"]
    assert [item["cooperative"]["number"] for item in only] == [NUMBER]
    assert client.get("/api/adhesion/adhesions?status=nonsense", headers=staff).status_code == 422


def test_health_and_openapi(client):
    assert client.get("/api/adhesion/health").json["status"] == "ok"
    spec = client.get("/api/adhesion/openapi.json").json
    assert spec["openapi"].startswith("3.") and "/api/adhesion/adhesions/{number}/{year}/validate" in spec["paths"]


def test_health_answers_503_when_the_broker_is_down(tmp_path, database_url):
    app = prepared_app(create_app, test_settings(tmp_path, database_url, broker_url="redis://127.0.0.1:1/0"))
    try:
        response = app.test_client().get("/api/adhesion/health")
        assert response.status_code == 503
        assert response.json == {"status": "unavailable", "database": True, "broker": False}
    finally:
        shutdown(app)


def test_outbox_keeps_published_rows_for_the_retention_period(client, app, school):
    from datetime import datetime, timedelta, timezone

    submitted_guide(client, school)
    relay = app.extensions["service"].relay
    wait_for(lambda: all(row.published_at for row in outbox_rows(app)), what="the relay to publish")
    relay.stop()  # the next event stays pending
    client.put(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", headers=school,
               json={**GUIDE, "goods_value": "5000.00"})  # a resubmission: a second event
    now = datetime.now(timezone.utc)
    assert relay.prune(now) == 0
    with app.extensions["service"].database.session() as session:  # the audit records' rows count too
        published = session.scalar(select(func.count()).where(OutboxEvent.published_at.is_not(None)))
    assert relay.prune(now + relay.RETENTION + timedelta(minutes=1)) == published
    remaining = outbox_rows(app)
    assert len(remaining) == 1 and remaining[0].published_at is None  # a pending event is never pruned


def test_school_login_ignores_the_case_of_the_number(client, school):
    answer = client.post("/api/auth/login", json={"login": NUMBER.lower(), "password": "ecole-secret"})
    assert answer.status_code == 200 and answer.json["cooperative"] == NUMBER


def test_bounds_in_french_number_format(client, school):
    body = {**GUIDE, "goods_value": "2000000.00"}
    response = client.put(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", headers=school, json=body)
    assert response.status_code == 422
    assert response.json["fields"]["goods_value"] == ["Doit être compris entre 0,00 € et 1 000 000,00 €."]
