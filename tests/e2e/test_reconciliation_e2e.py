"""Issue 8 end to end, through the real workers: a school submits, staff import the bank
statement, the credit carrying the school's RF reference is confirmed, the dues turn
`paid` and the adhesion's checklist shows the payment received; after validation a
reversal takes the dues back to `unpaid` and the validated adhesion is flagged, not
un-validated."""
import io
from datetime import date
from decimal import Decimal

from tests.statement_files import Movement, camt053
from tests.support import GUIDE, wait_for

NUMBER = "0382296P00"
YEAR = "2025-2026"
NAME = "Coopérative Scolaire de l'École Élémentaire Jean Moulin"


def ok(response):
    return response.json() if response.status_code == 200 else None


def test_confirmed_line_pays_the_dues_and_ticks_the_checklist(stack):
    staff = stack.login("admin", "admin-password")
    assert stack.call("post", "/api/adhesion/cooperatives", staff, json={
        "number": NUMBER, "name": NAME, "town": "VIENNE", "email": "ce.0382296p@ac-grenoble.fr",
        "password": "ecole-secret"}).status_code == 201
    school = stack.login(NUMBER, "ecole-secret")
    adhesion = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    assert stack.call("put", adhesion, school, json=GUIDE).status_code == 200
    assert stack.call("post", f"{adhesion}/submit", school).status_code == 200
    dues = wait_for(lambda: ok(stack.call("get", f"/api/payment/dues/{NUMBER}/{YEAR}", school)), what="the dues")
    assert dues["reference"] == "RF37260382296P00" and dues["status"] == "unpaid"

    statement = camt053([
        Movement(date(2025, 9, 15), Decimal("439.25"), f"VIR SEPA {dues['reference_display']}",
                 "COOP SCOL JEAN MOULIN", "FR7612345000010000000000185", "E2E0001"),
        Movement(date(2025, 9, 15), Decimal("-3.20"), "FRAIS"),
    ], version="08")
    uploaded = stack.call("post", "/api/payment/statements", staff, files={"file": ("releve.xml", io.BytesIO(statement))})
    assert uploaded.status_code == 201, uploaded.text
    assert (uploaded.json()["format"], uploaded.json()["lines"]) == ("camt.053", 2)
    lines = stack.call("get", f"/api/payment/statements/{uploaded.json()['id']}/lines", staff).json()["items"]
    best = lines[0]["suggestions"][0]
    assert (best["cooperative"], best["amount"]) == (NUMBER, "439.25") and best["score"] >= 0.9
    confirmed = stack.call("post", f"/api/payment/statement-lines/{lines[0]['id']}/confirm", staff, json={
        "allocations": [{"cooperative": NUMBER, "year": YEAR, "amount": "439.25"}]})
    assert confirmed.status_code == 200, confirmed.text
    assert stack.call("get", f"/api/payment/dues/{NUMBER}/{YEAR}", school).json()["status"] == "paid"
    checklist = wait_for(lambda: (c := stack.call("get", adhesion, staff).json()["checklist"])["payment_received"]
                         and c, timeout=60, what="payment.received to reach the adhesion checklist")
    assert checklist["amount_paid"] == "439.25"

    # validated, then the transfer is recalled: flagged for staff, still validated
    assert stack.call("patch", f"{adhesion}/checklist", staff, json={"engagement_signed": True}).status_code == 200
    validated = stack.call("post", f"{adhesion}/validate", staff, json={})
    assert validated.status_code == 200, validated.text
    wait_for(lambda: stack.call("get", f"/api/payment/dues/{NUMBER}/{YEAR}", staff).json()["validated"],
             timeout=60, what="adhesion.validated to reach the payment service")
    payment_id = confirmed.json()["payments"][0]["id"]
    reversed_ = stack.call("post", f"/api/payment/payments/{payment_id}/reverse", staff,
                           json={"reason": "Virement rappelé par la banque"})
    assert reversed_.status_code == 201, reversed_.text
    assert reversed_.json()["dues"]["status"] == "unpaid" and reversed_.json()["dues"]["attention"]
    wait_for(lambda: not stack.call("get", adhesion, staff).json()["checklist"]["payment_received"],
             timeout=60, what="the reversal to reach the checklist")
    assert stack.call("get", adhesion, staff).json()["status"] == "validated"
