"""Issue 21 end to end (docs/sepa.md), on the running system (gunicorn, every worker,
PostgreSQL, Redis, a real SMTP server): a department collects by direct debit from
creditor settings to a returned collection — the pain.008 files checked against the
ISO 20022 schemas, the pre-notifications and return emails read from the SMTP server."""
import io
import re
from datetime import date, timedelta
from decimal import Decimal

from lxml import etree
from pypdf import PdfReader

from banking import pain008
from tests.quiet import quiet
from tests.statement_files import Movement, camt053, camt053_direct_debit_return
from tests.support import GUIDE, school_email, wait_for

YEAR = "2025-2026"
ICS = "FR72ZZZ123456"
CREDITOR = {"name": "OCCE de l'Isère", "ics": ICS, "iban": "FR76 3000 6000 0112 3456 7890 189", "bic": "AGRIFRPP",
            "address": {"street": "12 rue de l'École", "postcode": "38000", "town": "Grenoble", "country": "FR"}}
STAFF_MAILBOX = "tresorerie@occe38.fr"
DEBTOR_IBANS = ["FR7630001007941234567890185", "FR7610107001011234567890129", "FR7630002032531234567890168"]
RUM = re.compile(r"[A-Z0-9-]{1,35}\Z")
NS08 = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}


def school_with_adhesion(stack, staff, number, students):
    assert stack.call("post", "/api/adhesion/cooperatives", staff, json={
        "number": number, "name": f"Coopérative de l'école {number}", "town": "VIENNE",
        "email": school_email(number), "password": "ecole-secret"}).status_code == 201
    school = stack.login(number, "ecole-secret")
    answer = {**GUIDE, "classes": [{**GUIDE["classes"][0], "student_count": students}],
              "payment": {"transfer": False, "cheque": False, "other": False, "direct_debit": True}}
    saved = stack.call("put", f"/api/adhesion/adhesions/{number}/{YEAR}", school, json=answer)
    assert saved.status_code == 200, saved.text
    assert saved.json()["payment"]["direct_debit"] is True
    assert stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/submit", school).status_code == 200
    wait_for(lambda: stack.call("get", f"/api/payment/dues/{number}/{YEAR}", school).status_code == 200,
             what="the dues")
    return school


def mails(sink, kind, to=None):
    return [m for m in sink.messages() if m["X-Retkoop-Kind"] == kind and (to is None or m["To"] == to)]


def text_of(message):
    return message.get_body(("plain",)).get_content()


def test_direct_debit_from_creditor_to_return(stack, sink):
    staff = stack.login("admin", "admin-password")
    assert stack.call("put", "/api/adhesion/departments/38", staff, json={"email": STAFF_MAILBOX}).status_code == 200

    # creditor settings: a bad ICS and a bad IBAN are refused with the field named
    bad_ics = stack.call("put", "/api/payment/sepa/creditor", staff, json={**CREDITOR, "ics": "FR73ZZZ123456"})
    assert bad_ics.status_code == 422 and "ics" in bad_ics.json()["fields"], bad_ics.text
    bad_iban = stack.call("put", "/api/payment/sepa/creditor", staff,
                          json={**CREDITOR, "iban": "FR76 3000 6000 0112 3456 7890 188"})
    assert bad_iban.status_code == 422 and "iban" in bad_iban.json()["fields"], bad_iban.text
    assert stack.call("get", "/api/payment/sepa/creditor", staff).status_code == 404
    saved = stack.call("put", "/api/payment/sepa/creditor", staff, json=CREDITOR)
    assert saved.status_code == 200, saved.text
    assert saved.json()["iban"] == "FR7630006000011234567890189"

    today = date.today()
    first, later = today + timedelta(days=20), today + timedelta(days=50)
    dates = stack.call("put", f"/api/payment/sepa/dates/{YEAR}", staff,
                       json={"dates": [first.isoformat(), later.isoformat()]})
    assert dates.status_code == 200 and dates.json()["dates"] == [first.isoformat(), later.isoformat()]

    numbers = ["0380101S00", "0380102S00", "0380103S00", "0380104S00"]
    schools = {n: school_with_adhesion(stack, staff, n, students) for n, students in zip(numbers, (165, 120, 80, 60))}
    # the department's offer reached the adhesion service (payment.creditor_changed)
    wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{numbers[0]}/{YEAR}", schools[numbers[0]]).json()[
        "department"]["direct_debit"], what="the direct debit offer")

    # three mandates made by the schools, signed and recorded by staff; the fourth has none
    rums = {}
    for number, iban in zip(numbers[:3], DEBTOR_IBANS):
        created = stack.call("post", "/api/payment/mandates", schools[number], json={
            "cooperative": number, "debtor_name": f"Coopérative de l'école {number}", "iban": iban,
            "address": {"street": "1 place de la Mairie", "postcode": "38200", "town": "Vienne"}})
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "pending"
        rums[number] = created.json()["rum"]
    assert len(set(rums.values())) == 3 and all(RUM.match(r) for r in rums.values())
    refused = stack.call("post", "/api/payment/mandates", schools[numbers[3]], json={
        "cooperative": numbers[3], "debtor_name": "X", "iban": "FR7630001007941234567890186",
        "address": {"street": "1 rue", "postcode": "38200", "town": "Vienne"}})
    assert refused.status_code == 422 and "iban" in refused.json()["fields"]
    signed_on = today - timedelta(days=3)
    for rum in rums.values():
        active = stack.call("post", f"/api/payment/mandates/{rum}/activate", staff,
                            json={"signed_on": signed_on.isoformat()})
        assert active.status_code == 200 and active.json()["status"] == "active", active.text

    # the school sees its own mandate and its pre-filled PDF, never another's
    mine, theirs = rums[numbers[0]], rums[numbers[1]]
    assert stack.call("get", f"/api/payment/mandates/{mine}", schools[numbers[0]]).json()["rum"] == mine
    assert stack.call("get", f"/api/payment/mandates/{theirs}", schools[numbers[0]]).status_code == 403
    assert stack.call("get", f"/api/payment/mandates/{theirs}.pdf", schools[numbers[0]]).status_code == 403
    pdf = stack.call("get", f"/api/payment/mandates/{mine}.pdf", schools[numbers[0]])
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages).split())
    for expected in (mine, ICS, "Mandat de prélèvement SEPA", "OCCE de l'Isère", numbers[0]):
        assert expected in text, expected

    # exactly the three are due on the first date, with their adhesion's amount
    due = {n: Decimal(stack.call("get", f"/api/payment/dues/{n}/{YEAR}", staff).json()["amount_due"]) for n in numbers}
    collections = stack.call("get", f"/api/payment/sepa/collections?date={first.isoformat()}", staff).json()["items"]
    assert sorted(c["cooperative"] for c in collections) == numbers[:3]
    assert all(Decimal(c["amount"]) == due[c["cooperative"]] and c["rum"] == rums[c["cooperative"]]
               for c in collections)

    # one pre-notification per school, at least 14 days ahead, with amount, date, RUM and ICS
    for number in numbers[:3]:
        wait_for(lambda: mails(sink, "direct_debit_notice", school_email(number)), timeout=60,
                 what="the pre-notification")
    quiet(stack)
    assert (first - today).days >= 14
    for number in numbers[:3]:
        notices = mails(sink, "direct_debit_notice", school_email(number))
        assert len(notices) == 1, number
        body = text_of(notices[0])
        for expected in (first.strftime("%d/%m/%Y"), rums[number], ICS, f"{due[number]:.2f}".replace(".", ",")):
            assert expected in body, (number, expected)
    assert not mails(sink, "direct_debit_notice", school_email(numbers[3]))

    # the batch: three lines, to the cent, valid against both schemas, RCUR, no zero line
    built = stack.call("post", "/api/payment/sepa/batches", staff, json={"collection_date": first.isoformat()})
    assert built.status_code == 201, built.text
    batch = built.json()
    total = sum(due[n] for n in numbers[:3])
    assert batch["count"] == 3 and Decimal(batch["total"]) == total
    xml = stack.call("get", f"/api/payment/sepa/batches/{batch['id']}/pain008.xml", staff)
    assert xml.status_code == 200 and xml.headers["Content-Type"].startswith("application/xml")
    pain008.check(xml.content, "08")  # lxml against the ISO 20022 XSD
    document = etree.fromstring(xml.content)
    assert len(document.findall(".//p:PmtInf", NS08)) == 1
    assert document.findtext(".//p:SeqTp", namespaces=NS08) == "RCUR"
    assert document.findtext(".//p:CdtrSchmeId/p:Id/p:PrvtId/p:Othr/p:Id", namespaces=NS08) == ICS
    assert Decimal(document.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS08)) == total
    lines = document.findall(".//p:DrctDbtTxInf", NS08)
    assert len(lines) == 3
    for line in lines:
        rum = line.findtext(".//p:MndtId", namespaces=NS08)
        number = next(n for n, r in rums.items() if r == rum)
        assert Decimal(line.findtext("p:InstdAmt", namespaces=NS08)) == due[number] > 0
        assert line.findtext(".//p:DtOfSgntr", namespaces=NS08) == signed_on.isoformat()
        assert line.findtext(".//p:EndToEndId", namespaces=NS08) == stack.call(
            "get", f"/api/payment/dues/{number}/{YEAR}", staff).json()["reference"]
        assert line.findtext(".//p:Dbtr/p:PstlAdr/p:TwnNm", namespaces=NS08) == "Vienne"
    v02 = stack.call("get", f"/api/payment/sepa/batches/{batch['id']}/pain008.xml?version=02", staff)
    assert v02.status_code == 200 and b"pain.008.001.02" in v02.content
    pain008.check(v02.content, "02")
    again = stack.call("post", "/api/payment/sepa/batches", staff, json={"collection_date": first.isoformat()})
    assert again.status_code == 409
    assert all(c["status"] == "exported" for c in stack.call(
        "get", f"/api/payment/sepa/collections?date={first.isoformat()}", staff).json()["items"])

    # another department's staff see none of it
    admin_calls_other_department(stack, staff, batch["id"], mine, numbers[0])

    # the bank credits the batch's total: three payments, each through payment.received
    credit = camt053([Movement(first, total, f"REMISE PRLV SEPA {batch['message_id']}", payer="OCCE 38")])
    imported = stack.call("post", "/api/payment/statements", staff, files={"file": ("credit.xml", io.BytesIO(credit))})
    assert imported.status_code == 201, imported.text
    for number in numbers[:3]:
        dues = stack.call("get", f"/api/payment/dues/{number}/{YEAR}", staff).json()
        assert dues["status"] == "paid" and dues["methods"] == ["direct_debit"], dues
        wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{number}/{YEAR}", staff).json()["checklist"][
            "payment_received"], what="payment.received in the checklist")
    assert stack.call("get", f"/api/payment/dues/{numbers[3]}/{YEAR}", staff).json()["status"] == "unpaid"
    returned_one = numbers[0]
    assert stack.call("patch", f"/api/adhesion/adhesions/{returned_one}/{YEAR}/checklist", staff,
                      json={"engagement_signed": True}).status_code == 200
    assert stack.call("post", f"/api/adhesion/adhesions/{returned_one}/{YEAR}/validate", staff,
                      json={}).status_code == 200

    # a later statement: one UPDD return, AM04, reverses exactly that payment
    reference = stack.call("get", f"/api/payment/dues/{returned_one}/{YEAR}", staff).json()["reference"]
    back = camt053_direct_debit_return(first + timedelta(days=3), due[returned_one], reference, rums[returned_one],
                                       "AM04")
    imported = stack.call("post", "/api/payment/statements", staff, files={"file": ("retour.xml", io.BytesIO(back))})
    assert imported.status_code == 201, imported.text
    for number in numbers[:3]:
        status = stack.call("get", f"/api/payment/dues/{number}/{YEAR}", staff).json()
        assert status["status"] == ("unpaid" if number == returned_one else "paid"), (number, status)
    dues = stack.call("get", f"/api/payment/dues/{returned_one}/{YEAR}", staff).json()
    assert dues["debit_rejected"] == "Provision insuffisante"
    assert "prélèvement rejeté" in dues["attention"]
    payments = sorted(stack.call("get", f"/api/payment/payments?cooperative={returned_one}", staff).json()["items"],
                      key=lambda p: p["id"])
    assert [Decimal(p["amount"]) for p in payments] == [due[returned_one], -due[returned_one]]
    assert "Provision insuffisante" in payments[1]["reason"]
    listed = stack.call("get", f"/api/payment/sepa/collections?date={first.isoformat()}", staff).json()["items"]
    assert [(c["cooperative"], c["status"], c["reason"]) for c in listed if c["status"] == "returned"] == [
        (returned_one, "returned", "Provision insuffisante")]
    wait_for(lambda: not stack.call("get", f"/api/adhesion/adhesions/{returned_one}/{YEAR}", staff).json()[
        "checklist"]["payment_received"], what="the reversal in the checklist")
    assert stack.call("get", f"/api/adhesion/adhesions/{returned_one}/{YEAR}", staff).json()["status"] == "validated"

    # the school and staff are emailed; the AM04 is presented once more on the later date
    wait_for(lambda: mails(sink, "direct_debit_returned", school_email(returned_one))
             and mails(sink, "direct_debit_returned_staff", STAFF_MAILBOX), timeout=60, what="the return emails")
    quiet(stack)
    school_mail = mails(sink, "direct_debit_returned", school_email(returned_one))
    assert len(school_mail) == 1 and "Provision insuffisante" in text_of(school_mail[0])
    assert len(mails(sink, "direct_debit_returned")) == 1
    assert mails(sink, "payment_reversed") == []  # a bank return is told once, by its own email
    staff_mail = mails(sink, "direct_debit_returned_staff", STAFF_MAILBOX)
    assert len(staff_mail) == 1 and returned_one in text_of(staff_mail[0])
    again = stack.call("get", f"/api/payment/sepa/collections?date={later.isoformat()}", staff).json()["items"]
    assert [(c["cooperative"], c["presentation"], c["status"]) for c in again] == [(returned_one, 2, "planned")]
    # re-importing the return changes nothing
    stack.call("post", "/api/payment/statements", staff, files={"file": ("retour.xml", io.BytesIO(back))})
    assert len(stack.call("get", f"/api/payment/payments?cooperative={returned_one}", staff).json()["items"]) == 2


def admin_calls_other_department(stack, staff, batch_id, rum, number):
    """A department of its own (26) and its staff: 403 on every SEPA object of the 38."""
    assert stack.call("post", "/api/adhesion/departments", staff, json={
        "number": "26", "name": "OCCE de la Drôme", "insurer": "MAE – MAIF", "contract": "0260042"}).status_code == 201
    assert stack.call("post", "/api/adhesion/staff", staff, json={
        "login": "drome", "password": "drome-secret", "department": "26", "email": "drome@occe.fr"}).status_code == 201
    drome = stack.login("drome", "drome-secret")
    for method, path, body in (
            ("get", f"/api/payment/sepa/batches/{batch_id}", None),
            ("get", f"/api/payment/sepa/batches/{batch_id}/pain008.xml", None),
            ("get", f"/api/payment/mandates/{rum}", None),
            ("get", f"/api/payment/mandates/{rum}.pdf", None),
            ("post", f"/api/payment/mandates/{rum}/revoke", None),
            ("post", f"/api/payment/mandates/{rum}/activate", {"signed_on": "2025-09-01"}),
            ("get", f"/api/payment/mandates?cooperative={number}", None),
    ):
        response = stack.call(method, path, drome, json=body) if body is not None else stack.call(method, path, drome)
        assert response.status_code == 403, (method, path, response.status_code, response.text)
    assert stack.call("get", "/api/payment/sepa/collections", drome).json()["items"] == []
    assert stack.call("get", "/api/payment/sepa/batches", drome).json()["items"] == []
