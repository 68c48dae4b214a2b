"""docs/campaign.md end to end on the whole system (PostgreSQL, Redis, every worker, a real SMTP
server): two departments side by side through every service's API, and 600 schools
imported and invited by email exactly once each."""
import re
import time
from collections import Counter

from tests.integration.test_departments import number_of, school_file
from tests.quiet import quiet
from tests.support import GUIDE, wait_for

YEAR = "2025-2026"
# The bulk lane's pace (5 a second by default) is proven by tests/unit/test_notify_domain.py;
# here it would only stretch 600 invitations over two minutes of the suite.
SYSTEM_ENV = {"BULK_MAIL_RATE": 100}
ISERE, DROME = "0382296P00", "0260001A00"
RATES = {"fee_per_student": "2.26", "fee_per_adult": "2.26", "fee_per_cooperative": "0.00",
         "insurance_per_cooperator": "0.25", "goods_threshold": "2000.00", "goods_rate": "0.00688",
         "instruments_threshold": "0.00", "instruments_rate": "0.00688", "renewal_opens": "2025-09-01",
         "renewal_closes": "2025-09-30"}


def invitations(sink):
    return [m for m in sink.messages() if m["X-Retkoop-Kind"] == "invitation"]


def _ok(response):
    return response.json() if response.status_code == 200 else None


def validated_school(stack, staff, number, town, email):
    assert stack.call("post", "/api/adhesion/cooperatives", staff, json={
        "number": number, "name": f"École Jean Moulin de {town}", "town": town, "email": email,
        "password": "ecole-secret"}).status_code == 201
    school = stack.login(number, "ecole-secret")
    assert stack.call("put", f"/api/adhesion/adhesions/{number}/{YEAR}", school, json=GUIDE).status_code == 200
    assert stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/submit", school).status_code == 200
    wait_for(lambda: _ok(stack.call("get", f"/api/payment/dues/{number}/{YEAR}", staff)), what="the dues")
    assert stack.call("post", "/api/payment/payments", staff, json={
        "cooperative": number, "year": YEAR, "amount": "439.25", "method": "cheque", "reference": "1",
        "received_on": "2025-09-12"}).status_code == 201
    wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{number}/{YEAR}", staff).json()["checklist"][
        "payment_received"], what="payment.received")
    stack.call("patch", f"/api/adhesion/adhesions/{number}/{YEAR}/checklist", staff, json={"engagement_signed": True})
    validated = stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/validate", staff, json={})
    assert validated.status_code == 200, validated.text
    wait_for(lambda: len(stack.call("get", f"/api/documents/{number}/{YEAR}", staff).json()["documents"]) == 2,
             timeout=60, what="the documents")
    wait_for(lambda: any(m["kind"] == "validation_confirmation" for m in stack.call(
        "get", f"/api/notify/messages?cooperative={number}", staff).json()["items"]), timeout=60, what="the email")
    return validated.json()["registration_code"]


def statement_and_slip(stack, staff, label):
    """A bank statement and a cheque slip of the department."""
    body = f"date;label;amount\n2025-09-12;VIR {label};439,25\n".encode()
    statement = stack.call("post", "/api/payment/statements", staff, files={"file": ("releve.csv", body, "text/csv")})
    assert statement.status_code == 201, statement.text
    slip = stack.call("post", "/api/payment/cheque-slips", staff, json={})
    assert slip.status_code == 201, slip.text
    return statement.json()["id"], slip.json()["id"]


def other_departments_calls(number, statement, slip):
    """Every call a staff member could make on one cooperative, in every service."""
    a = f"/api/adhesion/adhesions/{number}/{YEAR}"
    book = f"/api/ledger/books/{number}/{YEAR}"
    return [
        ("get", f"/api/payment/statements/{statement}/lines", None),
        ("post", f"/api/payment/statements/{statement}/confirm-suggested", {}),
        ("get", f"/api/payment/cheque-slips/{slip}", None),
        ("post", f"/api/payment/cheque-slips/{slip}/cheques", {"cooperative": number, "year": YEAR, "amount": "1.00",
                                                              "cheque_number": "1", "bank": "B", "drawer": "D"}),
        ("post", f"/api/payment/cheque-slips/{slip}/close", None),
        ("get", f"/api/payment/cheque-slips/{slip}.pdf", None),
        ("get", book, None),
        ("get", f"{book}/adhesion-entry", None),
        ("get", f"{book}/export.csv", None),
        ("get", f"/api/adhesion/cooperatives/{number}", None),
        ("get", f"/api/adhesion/cooperatives/{number}/detail", None),
        ("patch", f"/api/adhesion/cooperatives/{number}", {"town": "AILLEURS"}),
        ("post", f"/api/adhesion/cooperatives/{number}/password-reset", None),
        ("get", a, None),
        ("put", a, GUIDE),
        ("post", f"{a}/request-correction", {"message": "non"}),
        ("patch", f"{a}/checklist", {"engagement_signed": False}),
        ("post", f"{a}/validate", {}),
        ("post", f"{a}/reopen", None),
        ("get", f"/api/payment/dues/{number}/{YEAR}", None),
        ("get", f"/api/payment/payments?cooperative={number}", None),
        ("post", "/api/payment/payments", {"cooperative": number, "year": YEAR, "amount": "1.00", "method": "cash",
                                           "reference": "x", "received_on": "2025-09-12"}),
        ("get", f"/api/documents/{number}/{YEAR}", None),
        ("get", f"/api/documents/{number}/{YEAR}/attestation.pdf", None),
        ("get", f"/api/documents/{number}/{YEAR}/certificate.pdf", None),
        ("get", f"/api/notify/messages?cooperative={number}", None),
    ]


def test_two_departments_side_by_side(stack):
    admin = stack.login("admin", "admin-password")
    assert stack.call("post", "/api/adhesion/departments", admin, json={
        "number": "26", "name": "OCCE de la Drôme", "insurer": "MAE – MAIF", "contract": "0260042"}).status_code == 201
    for login, department in (("drome", "26"), ("isere", "38")):
        assert stack.call("post", "/api/adhesion/staff", admin, json={
            "login": login, "password": f"{login}-secret", "department": department,
            "email": f"{login}@occe.fr"}).status_code == 201
    drome, isere = stack.login("drome", "drome-secret"), stack.login("isere", "isere-secret")
    assert stack.call("put", f"/api/adhesion/rates/{YEAR}", drome, json=RATES).status_code == 200

    assert validated_school(stack, isere, ISERE, "VIENNE", "ce.0382296p@ac-grenoble.fr") == "26/0001 A"
    assert validated_school(stack, drome, DROME, "VALENCE", "ce.0260001a@ac-grenoble.fr") == "26/0001 A"
    # the Drôme's certificate names its own association and insurer contract
    assert stack.call("get", f"/api/adhesion/cooperatives/{DROME}", drome).json()["department"] == "26"

    papers = {ISERE: statement_and_slip(stack, isere, ISERE), DROME: statement_and_slip(stack, drome, DROME)}
    for staff, theirs in ((drome, ISERE), (isere, DROME)):
        for method, path, body in other_departments_calls(theirs, *papers[theirs]):
            response = stack.call(method, path, staff, json=body) if body is not None else stack.call(method, path, staff)
            assert response.status_code == 403, (method, path, response.status_code, response.text)
        assert theirs not in [c["number"] for c in stack.call("get", "/api/adhesion/cooperatives", staff).json()["items"]]
        assert theirs not in [a["cooperative"]["number"] for a in stack.call(
            "get", "/api/adhesion/adhesions", staff).json()["items"]]
        assert all(m["to"] != f"ce.{theirs.lower()[:8]}@ac-grenoble.fr" for m in stack.call(
            "get", "/api/notify/messages", staff).json()["items"])
    stats = {name: stack.call("get", f"/api/adhesion/stats/{YEAR}", token).json()
             for name, token in (("drome", drome), ("isere", isere))}
    assert stats["drome"]["validated"] == stats["isere"]["validated"] == 1


def test_600_schools_imported_and_invited_once_each(stack, sink):
    staff = stack.login("admin", "admin-password")
    body = school_file(600)
    started = time.monotonic()
    first = stack.call("post", "/api/adhesion/cooperatives/import", staff, data=body,
                       headers={"Content-Type": "text/csv"})
    assert first.status_code == 200, first.text
    assert first.json()["created"] == 600
    imported = time.monotonic() - started
    wait_for(lambda: len(invitations(sink)) >= 600, timeout=300, interval=1, what="600 invitations")
    print(f"600 lines imported in {imported:.1f} s; 600 invitations delivered in {time.monotonic() - started:.1f} s")
    again = stack.call("post", "/api/adhesion/cooperatives/import", staff, data=body,
                       headers={"Content-Type": "text/csv"})
    assert again.json()["unchanged"] == 600
    quiet(stack)  # anything wrongly sent by the second import has arrived
    messages = invitations(sink)
    assert len(messages) == 600
    recipients = Counter(m["To"] for m in messages)
    assert set(recipients.values()) == {1}
    assert recipients.keys() == {f"ce.038{i:04d}x@ac-grenoble.fr" for i in range(1, 601)}
    assert {m["Subject"] for m in messages} == {"Votre accès à l'adhésion OCCE"}
    moulin = next(m for m in messages if m["To"] == "ce.0380007x@ac-grenoble.fr")
    text = moulin.get_body(("plain",)).get_content()
    assert "École élémentaire Jean Moulin" in text and "valable 14 jours" in text
    url = re.search(r"http://\S+/invitation/(\S+)", text)
    assert url, text
    chosen = stack.call("post", "/api/auth/password-reset/confirm", json={"token": url.group(1), "password": "moulin-mdp"})
    assert chosen.status_code == 200, chosen.text
    assert stack.login(number_of(7), "moulin-mdp")
    log = stack.call("get", f"/api/notify/messages?cooperative={number_of(7)}", staff).json()["items"]
    assert [(m["kind"], m["status"]) for m in log] == [("invitation", "sent")]
