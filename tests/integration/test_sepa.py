"""Direct debit in the payment service (docs/sepa.md), on SQLite and on PostgreSQL: what
the end-to-end scenario (tests/e2e/test_sepa.py) does not walk through — an amended
adhesion's collection, a paid one withdrawn, the IBAN amendment carried by the next file,
revocation, expiry, an AM04 presented once more and only once, refusals."""
import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from lxml import etree
from sqlalchemy import select

from banking import pain008
from contracts import adhesion as adhesion_events
from services.payment import sepa
from services.payment.app import create_app
from services.payment.handlers import on_adhesion_submitted
from services.payment.models import Mandate, OutboxEvent
from shared.auth import Principal
from shared.service import shutdown
from tests.statement_files import Movement, camt053, camt053_direct_debit_return
from tests.support import bearer_for, prepared_app, test_settings

YEAR = "2025-2026"
A, B = "0385001D00", "0385002D00"
STAFF = bearer_for(Principal(login="admin", role="staff", department="38"))
SCHOOL_A = bearer_for(Principal(login=A, role="school", department="38", cooperative=A))
CREDITOR = {"name": "OCCE de l'Isère", "ics": "FR72ZZZ123456", "iban": "FR7630006000011234567890189",
            "address": {"street": "12 rue de l'École", "postcode": "38000", "town": "Grenoble"}}
IBAN_1, IBAN_2 = "FR7630001007941234567890185", "FR7610107001011234567890129"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}
FIRST, SECOND, THIRD = (date.today() + timedelta(days=d) for d in (20, 50, 80))


@pytest.fixture
def app(tmp_path, database_url, redis_url):
    app = prepared_app(create_app, test_settings(tmp_path, database_url, broker_url=redis_url))
    yield app
    shutdown(app)


@pytest.fixture
def client(app):
    return app.test_client()


def submitted(number, amount, revision=1, direct_debit=True) -> dict:
    return adhesion_events.SUBMITTED.build({
        "cooperative": {"number": number, "name": f"Coopérative {number}", "town": "VIENNE",
                        "email": f"ce.{number.lower()}@ac-grenoble.fr", "department": "38"},
        "department": {"code": "38", "name": "OCCE de l'Isère", "insurer": "MAE – MAIF", "insurer_contract": "",
                       "email": "tresorerie@occe38.fr"},
        "year": YEAR, "revision": revision, "amount_due": amount,
        "amounts": {"membership": amount, "insurance": "0.00", "goods": "0.00", "instruments": "0.00",
                    "total": amount},
        "totals": {"teachers": 1, "students": 10, "cooperators": 11}, "insurance": False,
        "payment": {"transfer": False, "cheque": False, "other": False, "direct_debit": direct_debit},
        "late": False,
    }).to_dict()


def deliver(app, envelope):
    with app.app_context():
        on_adhesion_submitted(envelope)


def call(client, method, path, token=STAFF, **kwargs):
    return getattr(client, method)(path, headers=token, **kwargs)


def creditor_and_dates(client):
    assert call(client, "put", "/api/payment/sepa/creditor", json=CREDITOR).status_code == 200
    assert call(client, "put", f"/api/payment/sepa/dates/{YEAR}",
                json={"dates": [d.isoformat() for d in (FIRST, SECOND, THIRD)]}).status_code == 200


def active_mandate(client, number, iban=IBAN_1) -> str:
    created = call(client, "post", "/api/payment/mandates", json={
        "cooperative": number, "debtor_name": f"Coopérative {number}", "iban": iban,
        "address": {"street": "1 place de la Mairie", "postcode": "38200", "town": "Vienne"}})
    assert created.status_code == 201, created.json
    rum = created.json["rum"]
    activated = call(client, "post", f"/api/payment/mandates/{rum}/activate",
                     json={"signed_on": (date.today() - timedelta(days=2)).isoformat()})
    assert activated.status_code == 200, activated.json
    return rum


def collections(client, day=None):
    query = f"?date={day.isoformat()}" if day else ""
    return call(client, "get", f"/api/payment/sepa/collections{query}").json["items"]


def notices(app, number):
    with app.extensions["service"].database.session() as session:
        rows = session.scalars(select(OutboxEvent).where(OutboxEvent.type == "payment.direct_debit_notified"))
        return [json.loads(r.payload)["data"] for r in rows if json.loads(r.payload)["data"]["cooperative"][
            "number"] == number]


def export(client, day) -> bytes:
    batch = call(client, "post", "/api/payment/sepa/batches", json={"collection_date": day.isoformat()})
    assert batch.status_code == 201, batch.json
    data = call(client, "get", f"/api/payment/sepa/batches/{batch.json['id']}/pain008.xml").data
    pain008.check(data)
    return data


def test_amended_adhesion_follows_until_exported_and_a_paid_one_is_withdrawn(app, client):
    creditor_and_dates(client)
    deliver(app, submitted(A, "100.00"))
    deliver(app, submitted(B, "80.00"))
    active_mandate(client, A)
    active_mandate(client, B, IBAN_2)
    assert {(c["cooperative"], c["amount"]) for c in collections(client, FIRST)} == {(A, "100.00"), (B, "80.00")}
    deliver(app, submitted(A, "120.50", revision=2))
    assert {(c["cooperative"], c["amount"]) for c in collections(client, FIRST)} == {(A, "120.50"), (B, "80.00")}
    assert [n["amount"] for n in notices(app, A)] == ["100.00", "120.50"]  # told again: the amount changed
    # B pays by cheque: nothing left to collect, never a zero line
    assert call(client, "post", "/api/payment/payments", json={
        "cooperative": B, "year": YEAR, "amount": "80.00", "method": "cheque", "reference": "123",
        "received_on": date.today().isoformat()}).status_code == 201
    assert [c["cooperative"] for c in collections(client, FIRST)] == [A]
    data = export(client, FIRST)
    assert b"<InstdAmt Ccy=\"EUR\">120.50</InstdAmt>" in data and b"0.00</InstdAmt>" not in data
    # once exported, a new amount no longer changes the collection
    deliver(app, submitted(A, "130.00", revision=3))
    assert [(c["amount"], c["status"]) for c in collections(client, FIRST)] == [("120.50", "exported")]
    assert call(client, "post", "/api/payment/sepa/batches",
                json={"collection_date": FIRST.isoformat()}).status_code == 409
    assert call(client, "post", "/api/payment/sepa/batches",
                json={"collection_date": THIRD.isoformat()}).status_code == 409  # nothing due


def test_iban_amendment_is_carried_by_the_next_collection(app, client):
    creditor_and_dates(client)
    deliver(app, submitted(A, "100.00"))
    rum = active_mandate(client, A)
    export(client, FIRST)
    credit = camt053([Movement(FIRST, Decimal("100.00"), "REMISE PRLV")])
    assert call(client, "post", "/api/payment/statements", data={"file": (io.BytesIO(credit), "c.xml")}).status_code == 201
    amended = call(client, "patch", f"/api/payment/mandates/{rum}", json={"iban": IBAN_2})
    assert amended.status_code == 200 and amended.json["rum"] == rum and amended.json["amendment"] is True
    deliver(app, submitted(A, "150.00", revision=2))  # 50.00 more due: collected on a later date
    data = export(client, SECOND)
    tx = etree.fromstring(data).find(".//p:DrctDbtTxInf", NS)
    assert tx.findtext(".//p:AmdmntInd", namespaces=NS) == "true"
    assert tx.findtext(".//p:OrgnlDbtrAcct/p:Id/p:IBAN", namespaces=NS) == IBAN_1
    assert tx.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == IBAN_2
    assert tx.findtext("p:InstdAmt", namespaces=NS) == "50.00"
    assert call(client, "get", f"/api/payment/mandates/{rum}").json["amendment"] is False  # carried once


def test_am04_is_presented_once_more_and_only_once(app, client):
    creditor_and_dates(client)
    deliver(app, submitted(A, "100.00"))
    rum = active_mandate(client, A)
    reference = call(client, "get", f"/api/payment/dues/{A}/{YEAR}").json["reference"]
    for round_, day in enumerate((FIRST, SECOND), start=1):
        export(client, day)
        credit = camt053([Movement(day, Decimal("100.00"), f"REMISE PRLV {round_}")])
        assert call(client, "post", "/api/payment/statements",
                    data={"file": (io.BytesIO(credit), "credit.xml")}).status_code == 201
        assert call(client, "get", f"/api/payment/dues/{A}/{YEAR}").json["status"] == "paid"
        back = camt053_direct_debit_return(day + timedelta(days=2), Decimal("100.00"), reference, rum, "AM04")
        assert call(client, "post", "/api/payment/statements",
                    data={"file": (io.BytesIO(back), f"retour{round_}.xml")}).status_code == 201
        dues = call(client, "get", f"/api/payment/dues/{A}/{YEAR}").json
        assert dues["status"] == "unpaid" and dues["debit_rejected"] == "Provision insuffisante"
    listed = collections(client)
    assert [(c["collection_date"], c["status"], c["presentation"]) for c in listed] == [
        (FIRST.isoformat(), "returned", 1), (SECOND.isoformat(), "returned", 2)]  # no third presentation


def test_other_reasons_are_not_presented_again_and_a_reject_before_the_credit(app, client):
    creditor_and_dates(client)
    deliver(app, submitted(A, "100.00"))
    deliver(app, submitted(B, "80.00"))
    rum_a = active_mandate(client, A)
    active_mandate(client, B, IBAN_2)
    export(client, FIRST)
    reference = call(client, "get", f"/api/payment/dues/{A}/{YEAR}").json["reference"]
    # rejected before settlement (MD01, by its mandate reference only): the credit is then B's alone
    back = camt053_direct_debit_return(FIRST, Decimal("100.00"), "", rum_a, "MD01", sub_family="PRDD")
    assert call(client, "post", "/api/payment/statements", data={"file": (io.BytesIO(back), "r.xml")}).status_code == 201
    credit = camt053([Movement(FIRST, Decimal("80.00"), "REMISE PRLV")])
    assert call(client, "post", "/api/payment/statements", data={"file": (io.BytesIO(credit), "c.xml")}).status_code == 201
    assert call(client, "get", f"/api/payment/dues/{B}/{YEAR}").json["status"] == "paid"
    dues = call(client, "get", f"/api/payment/dues/{A}/{YEAR}").json
    assert dues["status"] == "unpaid" and dues["debit_rejected"] == "Pas de mandat" and reference
    assert [(c["cooperative"], c["status"]) for c in collections(client) if c["cooperative"] == A] == [
        (A, "returned")]  # MD01: staff decide, nothing presented again


def test_revocation_and_expiry_withdraw_planned_collections(app, client):
    creditor_and_dates(client)
    deliver(app, submitted(A, "100.00"))
    deliver(app, submitted(B, "80.00"))
    rum_a = active_mandate(client, A)
    rum_b = active_mandate(client, B, IBAN_2)
    assert call(client, "post", f"/api/payment/mandates/{rum_a}/revoke").json["status"] == "revoked"
    assert call(client, "post", f"/api/payment/mandates/{rum_a}/revoke").status_code == 409
    context = app.extensions["service"]
    with context.database.session() as session:
        signed = session.scalar(select(Mandate.signed_on).where(Mandate.rum == rum_b))
    assert sepa.expire_mandates(context, signed + timedelta(days=3 * 365 - 5)) == 0
    assert sepa.expire_mandates(context, signed + timedelta(days=3 * 366)) == 1
    assert call(client, "get", f"/api/payment/mandates/{rum_b}").json["status"] == "expired"
    assert collections(client) == []


def test_refusals(app, client):
    mandate = {"cooperative": A, "debtor_name": "Coop", "iban": IBAN_1,
               "address": {"street": "1 rue", "postcode": "38200", "town": "Vienne"}}
    assert call(client, "post", "/api/payment/mandates", json=mandate).status_code == 409  # no creditor yet
    creditor_and_dates(client)
    bad = call(client, "put", "/api/payment/sepa/creditor", json={**CREDITOR, "bic": "XX"})
    assert bad.status_code == 422 and "bic" in bad.json["fields"]
    far = call(client, "put", f"/api/payment/sepa/dates/{YEAR}", json={"dates": ["2030-01-15"]})
    assert far.status_code == 422 and "dates" in far.json["fields"]
    assert call(client, "post", "/api/payment/mandates", json={**mandate, "debtor_name": "東京"}).status_code == 422
    rum = call(client, "post", "/api/payment/mandates", SCHOOL_A, json=mandate).json["rum"]
    assert call(client, "post", "/api/payment/mandates", json=mandate).status_code == 409  # one in force
    future = call(client, "post", f"/api/payment/mandates/{rum}/activate",
                  json={"signed_on": (date.today() + timedelta(days=1)).isoformat()})
    assert future.status_code == 422 and "signed_on" in future.json["fields"]
    assert call(client, "post", f"/api/payment/mandates/{rum}/activate", SCHOOL_A,
                json={"signed_on": date.today().isoformat()}).status_code == 403  # staff record signatures
    assert call(client, "get", "/api/payment/mandates/rkp%2F38").status_code in (400, 404)
    assert call(client, "get", "/api/payment/mandates/rkp-38").status_code == 400
    assert call(client, "get", "/api/payment/sepa/mandate", SCHOOL_A).json["rum"] == rum
    assert call(client, "get", "/api/payment/sepa/batches/1/pain008.xml?version=03").status_code == 422
