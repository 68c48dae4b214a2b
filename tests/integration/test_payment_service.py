"""The payment service over HTTP and as a consumer, on SQLite and on PostgreSQL, with the
real Redis broker and a real Celery worker process."""
import json
import threading

import pytest
import redis
from sqlalchemy import func, select

from contracts import adhesion as adhesion_events
from services.payment.app import create_app
from services.payment.handlers import on_adhesion_submitted
from services.payment.models import Due, OutboxEvent, Payment, ProcessedEvent
from shared.auth import Principal
from shared.service import shutdown
from tests.support import Worker, bearer_for, env_for, prepared_app, test_settings, wait_for

NUMBER = "0382296P00"
OTHER = "0380001A00"
YEAR = "2025-2026"
DUES = f"/api/payment/dues/{NUMBER}/{YEAR}"


def bearer(**principal):
    return bearer_for(Principal(**principal))


STAFF = bearer(login="admin", role="staff", department="38")
STAFF_69 = bearer(login="admin69", role="staff", department="69")
SCHOOL = bearer(login=NUMBER, role="school", department="38", cooperative=NUMBER)
INTRUDER = bearer(login=OTHER, role="school", department="38", cooperative=OTHER)


def submitted(revision=1, amount_due="439.25", number=NUMBER, department="38", year=YEAR) -> dict:
    """An ``adhesion.submitted`` envelope as the adhesion service writes it."""
    return adhesion_events.SUBMITTED.build({
        "cooperative": {"number": number, "name": "Coopérative Scolaire de l'École Élémentaire Jean Moulin",
                        "town": "VIENNE", "email": "ce.0382296p@ac-grenoble.fr", "department": department},
        "department": {"code": department, "name": "OCCE de l'Isère", "insurer": "MAE – MAIF", "insurer_contract": ""},
        "year": year,
        "revision": revision,
        "amount_due": amount_due,
        "amounts": {"membership": "395.50", "insurance": "43.75", "goods": "0.00", "instruments": "0.00",
                    "total": amount_due},
        "totals": {"teachers": 10, "students": 165, "cooperators": 175},
        "insurance": True,
        "payment": {"transfer": False, "cheque": True, "other": False},
        "late": False,
    }).to_dict()


@pytest.fixture
def app(make_app, database_url):
    return make_app(create_app, database_url)


@pytest.fixture
def client(app):
    return app.test_client()


def deliver(app, envelope) -> bool:
    with app.app_context():
        return on_adhesion_submitted(envelope)


def pay(client, amount, method="cheque", reference="1234567", headers=STAFF, **extra):
    body = {"cooperative": NUMBER, "year": YEAR, "amount": amount, "method": method, "reference": reference,
            "received_on": "2025-09-12", **extra}
    return client.post("/api/payment/payments", headers=headers, json=body)


def rows(app, model):
    query = select(model).order_by(*model.__table__.primary_key.columns)
    if model is OutboxEvent:  # the payment events (its audit records are tested in test_audit)
        query = query.where(OutboxEvent.type != "audit.recorded")
    with app.extensions["service"].database.session() as session:
        return session.scalars(query).all()


def count(app, model) -> int:
    with app.extensions["service"].database.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_guide_example_unpaid_partial_paid_overpaid(app, client):
    assert client.get(DUES, headers=STAFF).status_code == 404  # before the first submission
    assert client.get(DUES, headers=SCHOOL).status_code == 404
    assert deliver(app, submitted()) is True
    assert client.get(DUES, headers=SCHOOL).json == {
        "cooperative": NUMBER, "year": YEAR, "amount_due": "439.25", "amount_paid": "0.00", "balance": "439.25",
        "status": "unpaid", "payments_count": 0, "methods": [], "reference": "RF37260382296P00",
        "reference_display": "RF37 2603 8229 6P00", "validated": False, "attention": ""}

    first = pay(client, "200.00")
    assert first.status_code == 201, first.json
    assert first.json["payment"]["amount"] == "200.00" and first.json["payment"]["recorded_by"] == "admin"
    assert first.json["payment"]["received_on"] == "2025-09-12"
    assert first.json["dues"]["status"] == "partial"
    dues = client.get(DUES, headers=SCHOOL).json
    assert (dues["amount_paid"], dues["balance"], dues["status"]) == ("200.00", "239.25", "partial")

    assert pay(client, "239.25", method="transfer", reference="").status_code == 201
    dues = client.get(DUES, headers=STAFF).json
    assert (dues["amount_paid"], dues["balance"], dues["status"]) == ("439.25", "0.00", "paid")

    assert pay(client, "0.01", method="cash", reference=None).status_code == 201
    dues = client.get(DUES, headers=STAFF).json
    assert (dues["amount_paid"], dues["balance"], dues["status"]) == ("439.26", "-0.01", "overpaid")
    assert dues["methods"] == ["cheque", "transfer", "cash"]
    listed = client.get(f"/api/payment/payments?cooperative={NUMBER}&year={YEAR}", headers=STAFF).json["items"]
    assert [(p["amount"], p["method"], p["reference"]) for p in listed] == [
        ("200.00", "cheque", "1234567"), ("239.25", "transfer", ""), ("0.01", "cash", "")]


def test_each_payment_writes_one_payment_received_published_to_adhesion(app, client, redis_url):
    deliver(app, submitted())
    pay(client, "200.00")
    pay(client, "239.25", method="transfer", received_on="2025-10-14")
    events = [json.loads(row.payload) for row in rows(app, OutboxEvent)]
    assert [e["type"] for e in events] == ["payment.received", "payment.received"]
    assert [e["data"] for e in events] == [
        {"cooperative": NUMBER, "year": YEAR, "department": "38", "amount_paid": "200.00", "amount_due": "439.25",
         "payments_count": 1, "methods": ["cheque"], "status": "partial", "last_received_on": "2025-09-12"},
        {"cooperative": NUMBER, "year": YEAR, "department": "38", "amount_paid": "439.25", "amount_due": "439.25",
         "payments_count": 2, "methods": ["cheque", "transfer"], "status": "paid", "last_received_on": "2025-10-14"},
    ]
    assert len({e["event_id"] for e in events}) == 2
    wait_for(lambda: all(row.published_at for row in rows(app, OutboxEvent)), what="the relay to publish")
    assert [row.attempts for row in rows(app, OutboxEvent)] == [1, 1]
    assert redis.Redis.from_url(redis_url).llen("adhesion") == 2  # adhesion.on_payment_received, once each


def test_bad_input_is_422_naming_the_field_and_stores_nothing(app, client):
    deliver(app, submitted())
    cases = [
        ({"amount": "10.005"}, "amount"),
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": True}, "amount"),
        ({"method": "bitcoin"}, "method"),
        ({"reference": "x" * 101}, "reference"),
        ({"received_on": "2999-01-01"}, "received_on"),
        ({"received_on": "12/09/2025"}, "received_on"),
        ({"year": "2025-2027"}, "year"),
        ({"cooperative": "038 2296"}, "cooperative"),
        ({"iban": "FR76"}, "iban"),
    ]
    for change, field in cases:
        response = pay(client, **{"amount": "10.00", **change})
        assert response.status_code == 422, (change, response.json)
        assert response.json["error"] == "validation_error" and field in response.json["fields"], (change, response.json)
    missing = client.post("/api/payment/payments", headers=STAFF)
    assert missing.status_code == 422
    assert {"cooperative", "year", "amount", "method", "received_on"} <= set(missing.json["fields"])
    not_an_object = client.post("/api/payment/payments", headers=STAFF, json=["10.00"])
    assert not_an_object.status_code == 422
    assert count(app, Payment) == 0 and count(app, OutboxEvent) == 0
    assert client.get(DUES, headers=STAFF).json["amount_paid"] == "0.00"
    # A JSON float has lost the written digits already (docs/product.md#4-money: money travels as strings);
    # "1e3" or Arabic-Indic / full-width digits are not amounts a person typed either.
    for amount in (12.5, "1e3", "١٢٣", "２５００"):
        response = pay(client, amount)
        assert response.status_code == 422 and "amount" in response.json["fields"], (amount, response.json)
    assert pay(client, "12.50").json["payment"]["amount"] == "12.50"


def test_payment_before_submission_is_409(app, client):
    response = pay(client, "10.00")
    assert response.status_code == 409
    assert response.json["error"] == "conflict"
    assert response.json["message"].startswith(f"L'adhésion {NUMBER} {YEAR} n'a pas encore été saisie")
    assert count(app, Payment) == 0 and count(app, OutboxEvent) == 0


def test_access_rules(app, client):
    deliver(app, submitted())
    assert client.get(DUES).status_code == 401
    assert pay(client, "10.00", headers={}).status_code == 401
    assert pay(client, "10.00", headers=SCHOOL).status_code == 403  # staff only
    assert client.get(DUES, headers=INTRUDER).status_code == 403  # another cooperative
    assert client.get(f"/api/payment/dues/{OTHER}/{YEAR}", headers=SCHOOL).status_code == 403
    assert client.get(DUES, headers=STAFF_69).status_code == 403  # another department
    assert pay(client, "10.00", headers=STAFF_69).status_code == 403
    assert client.get("/api/payment/payments", headers=SCHOOL).status_code == 403
    assert count(app, Payment) == 0 and count(app, OutboxEvent) == 0
    pay(client, "10.00")
    assert client.get("/api/payment/payments", headers=STAFF_69).json == {"items": []}
    assert len(client.get("/api/payment/payments", headers=STAFF).json["items"]) == 1


def test_malformed_path_or_filter_is_400_or_422_naming_the_field(client):
    bad_number = client.get(f"/api/payment/dues/0382296p00/{YEAR}", headers=STAFF)
    assert bad_number.status_code == 400 and "number" in bad_number.json["fields"]
    bad_year = client.get(f"/api/payment/dues/{NUMBER}/2025-2027", headers=STAFF)
    assert bad_year.status_code == 400 and "year" in bad_year.json["fields"]
    bad_filter = client.get("/api/payment/payments?year=2025", headers=STAFF)
    assert bad_filter.status_code == 422 and "year" in bad_filter.json["fields"]


def test_consumer_applies_once_and_ignores_an_older_revision(app, client):
    first = submitted(revision=3, amount_due="439.25")
    assert deliver(app, first) is True
    assert deliver(app, first) is False  # re-delivered: nothing changes
    assert deliver(app, submitted(revision=2, amount_due="300.00")) is True  # older, arriving late: ignored
    assert client.get(DUES, headers=STAFF).json["amount_due"] == "439.25"
    assert deliver(app, submitted(revision=5, amount_due="441.51")) is True  # resubmitted with a new amount
    dues = client.get(DUES, headers=STAFF).json
    assert (dues["amount_due"], dues["status"]) == ("441.51", "unpaid")
    (due,) = rows(app, Due)
    assert (due.revision, due.department, due.cooperative_email) == (5, "38", "ce.0382296p@ac-grenoble.fr")
    assert count(app, ProcessedEvent) == 3  # three distinct events


def test_concurrent_payments_each_see_the_previous_ones(app, client):
    deliver(app, submitted())
    answers = []

    def one():
        answers.append(pay(app.test_client(), "10.00").status_code)

    threads = [threading.Thread(target=one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [201] * 8
    data = [json.loads(row.payload)["data"] for row in rows(app, OutboxEvent)]
    assert sorted(d["payments_count"] for d in data) == list(range(1, 9))  # no two events claim the same state
    assert max(data, key=lambda d: d["payments_count"])["amount_paid"] == "80.00"


def test_health_and_openapi(client):
    assert client.get("/api/payment/health").json["status"] == "ok"
    spec = client.get("/api/payment/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert {"/api/payment/payments", "/api/payment/dues/{number}/{year}"} <= set(spec["paths"])


def test_real_worker_consumes_adhesion_submitted_from_redis(tmp_path, database_url, redis_url):
    settings = test_settings(tmp_path, database_url, broker_url=redis_url)
    app = prepared_app(create_app, settings)
    try:
        client = app.test_client()
        envelope = submitted()
        with Worker("payment", env_for(settings)) as worker:
            celery = app.extensions["celery"]
            celery.send_task("payment.on_adhesion_submitted", args=[envelope], queue="payment")
            celery.send_task("payment.on_adhesion_submitted", args=[envelope], queue="payment")  # at least once
            try:
                dues = wait_for(lambda: (r := client.get(DUES, headers=SCHOOL)).status_code == 200 and r.json,
                                timeout=60, what="the dues to appear")
            except AssertionError:
                raise AssertionError(worker.log()[-3000:])
            assert (dues["amount_due"], dues["status"]) == ("439.25", "unpaid")
            wait_for(lambda: redis.Redis.from_url(redis_url).llen("payment") == 0, what="the queue to drain")
            wait_for(lambda: worker.log().count("succeeded") >= 2, what="both deliveries to be processed")
        assert count(app, Due) == 1 and count(app, ProcessedEvent) == 1
    finally:
        shutdown(app)
