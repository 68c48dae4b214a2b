"""Payment reconciliation over HTTP (docs/reconciliation.md) on SQLite and PostgreSQL: statements
imported, suggestions, confirmations, cheque slips, reversals; files written by the tests."""
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from contracts import adhesion as adhesion_events
from services.payment.app import create_app
from services.payment.handlers import on_adhesion_submitted, on_adhesion_validated
from services.payment.models import OutboxEvent, Payment, Statement, StatementLine
from shared.auth import Principal
from shared.service import shutdown
from tests.statement_files import Movement, camt053, cfonb120, csv_statement, ofx_sgml, ofx_xml
from tests.support import bearer_for, prepared_app, test_settings

D = Decimal
YEAR = "2025-2026"
DAY = date(2025, 9, 12)
MOULIN, TILLEULS, HUGO = "0382296P00", "0381111A00", "0382222B00"


def bearer(**principal):
    return bearer_for(Principal(**principal))


STAFF = bearer(login="admin", role="staff", department="38")
STAFF_69 = bearer(login="admin69", role="staff", department="69")
SCHOOL = bearer(login=MOULIN, role="school", department="38", cooperative=MOULIN)


@pytest.fixture
def app(tmp_path, database_url, redis_url):
    app = prepared_app(create_app, test_settings(tmp_path, database_url, broker_url=redis_url))
    for number, name, due in ((MOULIN, "Coopérative Scolaire de l'École Élémentaire Jean Moulin", "439.25"),
                              (TILLEULS, "Coop scolaire maternelle Les Tilleuls", "120.00"),
                              (HUGO, "OCCE Coop Victor Hugo", "80.50")):
        submit(app, number, name, due)
    yield app
    shutdown(app)


@pytest.fixture
def client(app):
    return app.test_client()


def submit(app, number, name, amount_due, town="VIENNE", revision=1):
    example = adhesion_events.SUBMITTED.example
    envelope = adhesion_events.SUBMITTED.build({
        **example, "cooperative": {"number": number, "name": name, "town": town, "email": "ecole@example.org",
                                   "department": "38"},
        "year": YEAR, "revision": revision, "amount_due": amount_due,
        "amounts": {**example["amounts"], "total": amount_due}}).to_dict()
    with app.app_context():
        assert on_adhesion_submitted(envelope)


def upload(client, data, name="releve", headers=STAFF):
    return client.post("/api/payment/statements", headers=headers, data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def lines_of(client, statement_id, headers=STAFF):
    response = client.get(f"/api/payment/statements/{statement_id}/lines", headers=headers)
    assert response.status_code == 200, response.json
    return response.json["items"]


def dues(client, number):
    return client.get(f"/api/payment/dues/{number}/{YEAR}", headers=STAFF).json


def count(app, model):
    with app.extensions["service"].database.session() as session:
        return session.scalar(select(func.count()).select_from(model))


MOVEMENTS = [
    Movement(DAY, D("439.25"), "VIR SEPA ADHESION RF37260382296P00", "COOP SCOL JEAN MOULIN",
             "FR7612345000010000000000185", "BANKREF0001"),
    Movement(DAY, D("-12.50"), "FRAIS TENUE DE COMPTE"),
    Movement(date(2025, 9, 13), D("200.50"), f"MAIRIE DE VIENNE {TILLEULS} {HUGO}", "MAIRIE DE VIENNE"),
    Movement(date(2025, 9, 13), D("15.00"), "DON ANONYME"),
]


@pytest.mark.parametrize("maker, fmt", [
    (lambda m: camt053(m, "08"), "camt.053"), (lambda m: camt053(m, "02"), "camt.053"),
    (ofx_sgml, "ofx"), (ofx_xml, "ofx"),
    (lambda m: cfonb120(m, line_breaks=False), "cfonb120"),
    (lambda m: csv_statement(m, "la_banque_postale", "cp1252"), "csv"),
])
def test_import_each_format_then_again_adds_nothing(app, client, maker, fmt):
    data = maker(MOVEMENTS)
    first = upload(client, data)
    assert first.status_code == 201, first.json
    assert {k: first.json[k] for k in ("format", "lines", "new_lines", "duplicates")} == {
        "format": fmt, "lines": 4, "new_lines": 4, "duplicates": 0}
    again = upload(client, data)
    assert again.status_code == 201
    assert (again.json["lines"], again.json["new_lines"], again.json["duplicates"]) == (4, 0, 4)
    items = lines_of(client, first.json["id"])
    assert [i["status"] for i in items] == ["suggested", "ignored", "suggested", "unmatched"]
    assert items[0]["amount"] == "439.25" and items[0]["booked_on"] == "2025-09-12"
    top = items[0]["suggestions"][0]
    assert (top["cooperative"], top["year"], top["amount"]) == (MOULIN, YEAR, "439.25")
    assert top["score"] >= 0.9 and "reference" in top["reasons"]
    assert count(app, StatementLine) == 4


def test_overlapping_file_and_identical_lines_of_one_day(client):
    twice = MOVEMENTS + [Movement(date(2025, 9, 13), D("15.00"), "DON ANONYME")]
    assert upload(client, csv_statement(twice[:3], "plain", "utf-8")).json["new_lines"] == 3
    overlap = upload(client, csv_statement(twice[2:], "plain", "utf-8")).json
    assert (overlap["lines"], overlap["new_lines"], overlap["duplicates"]) == (3, 2, 1)  # two gifts: two lines


def test_corrupt_file_is_refused_whole_naming_the_line(app, client):
    text = csv_statement(MOVEMENTS, "plain", "utf-8").decode().replace("15,00", "quinze")
    response = upload(client, text.encode())
    assert response.status_code == 422
    assert response.json["line"] == 5 and "ligne 5" in response.json["message"]
    assert "file" in response.json["fields"]
    broken = camt053(MOVEMENTS)[:-200]
    response = upload(client, broken)
    assert response.status_code == 422 and response.json["line"]
    assert count(app, Statement) == count(app, StatementLine) == 0


HUGE = "99999999999999999999.99"  # a school's RF beside it: it was suggested, then confirmed


def _amount_written(data: bytes, written: bytes, text: str) -> bytes:
    assert written in data
    return data.replace(written, text.encode(), 1)


@pytest.mark.parametrize("name, data, where", [
    ("camt 20 digits", lambda: _amount_written(camt053(MOVEMENTS), b">439.25<", f">{HUGE}<"), {"line": 11}),
    ("camt exponent", lambda: _amount_written(camt053(MOVEMENTS), b">439.25<", ">1E+50<"), {"line": 11}),
    ("ofx 30 digits", lambda: _amount_written(ofx_sgml(MOVEMENTS), b">439,25", ">" + "9" * 30), {"element": "STMTTRN n°1"}),
    ("ofx2 exponent", lambda: _amount_written(ofx_xml(MOVEMENTS), b">439.25<", ">1E+50<"), {"element": "STMTTRN n°1"}),
    ("csv 20 digits", lambda: _amount_written(csv_statement(MOVEMENTS, "plain", "utf-8"), b";439,25", f";{HUGE}"),
     {"line": 2}),
    ("cfonb decimals ²", lambda: _cfonb_column(19, "²"), {"line": 2}),
    ("cfonb amount ³", lambda: _cfonb_column(95, "³"), {"line": 2}),
    ("csv cell over 128 KB", lambda: b"date;label;amount\r\n2025-09-12;VIR;1,00\r\n2025-09-12;\"" + b"x" * 140_000
     + b"\";1,00\r\n", {"line": 3}),
])
def test_odd_amounts_and_cells_refuse_the_whole_file_naming_where(app, client, name, data, where):
    response = upload(client, data())
    assert response.status_code == 422, (name, response.status_code, response.get_data(as_text=True)[:300])
    assert {k: response.json.get(k) for k in where} == where, response.json
    assert "file" in response.json["fields"] and "Relevé refusé" in response.json["message"]
    assert count(app, Statement) == count(app, StatementLine) == count(app, Payment) == 0


def _cfonb_column(column: int, char: str) -> bytes:
    lines = cfonb120(MOVEMENTS).decode("latin-1").split("\r\n")
    lines[1] = lines[1][:column] + char + lines[1][column + 1:]
    return "\r\n".join(lines).encode("latin-1")


def test_largest_amount_is_stored_on_either_store(client):
    largest = [Movement(DAY, D("999999999999.99"), "VIR SEPA ADHESION RF37260382296P00", "COOP SCOL JEAN MOULIN")]
    response = upload(client, camt053(largest))
    assert response.status_code == 201, response.json
    assert lines_of(client, response.json["id"])[0]["amount"] == "999999999999.99"


@pytest.mark.parametrize("maker", [
    ofx_sgml, ofx_xml, cfonb120, lambda m: csv_statement(m, "plain", "utf-8"),
    lambda m: csv_statement(m, "credit_agricole", "cp1252")])
def test_control_characters_in_labels_are_removed_before_storing(client, maker):
    """PostgreSQL refuses NUL in text: the line is stored, its label without controls."""
    dirty = [Movement(DAY, D("439.25"), "VIR\x00ADHESION\x01 RF37260382296P00\x1b", "COOP\x00SCOL\x02JEAN MOULIN")]
    response = client.post("/api/payment/statements", headers=STAFF, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(maker(dirty)), "releve\x00\x01.csv")})
    assert response.status_code == 201, response.get_data(as_text=True)[:300]
    assert "\x00" not in (response.json["filename"] or "")
    line = lines_of(client, response.json["id"])[0]
    assert "VIR ADHESION RF37260382296P00" in line["label"]
    assert not any(ord(c) < 32 for c in line["label"] + line["payer"])
    assert line["suggestions"][0]["cooperative"] == MOULIN  # the reference still reads


def test_upload_limits_and_field(client):
    assert client.post("/api/payment/statements", headers=STAFF, data={},
                       content_type="multipart/form-data").status_code == 422
    big = csv_statement([Movement(DAY, D("1.00"), f"VIREMENT RECU LIGNE {i}") for i in range(9000)], "plain", "utf-8")
    assert 256 * 1024 < len(big) < 10 * 1024 * 1024
    assert upload(client, big).status_code == 201  # above the JSON limit, within the statement one
    huge = b"date;label;amount\n" + b"2025-09-12;" + b"x" * (10 * 1024 * 1024) + b";1,00\n"
    response = upload(client, huge)
    assert response.status_code == 413 and response.json["error"] == "payload_too_large"
    assert client.post("/api/payment/payments", headers=STAFF, data=b"{" + b" " * 300_000 + b"}",
                       content_type="application/json").status_code == 413  # JSON keeps 256 KB


def test_confirm_records_a_transfer_and_its_event_twice_is_409(app, client):
    statement = upload(client, camt053(MOVEMENTS)).json
    line = lines_of(client, statement["id"])[0]
    body = {"allocations": [{"cooperative": MOULIN, "year": YEAR, "amount": "439.25"}]}
    confirmed = client.post(f"/api/payment/statement-lines/{line['id']}/confirm", headers=STAFF, json=body)
    assert confirmed.status_code == 200, confirmed.json
    assert confirmed.json["status"] == "confirmed"
    payment = confirmed.json["payments"][0]
    assert (payment["method"], payment["received_on"], payment["amount"]) == ("transfer", "2025-09-12", "439.25")
    assert dues(client, MOULIN)["status"] == "paid"
    with app.extensions["service"].database.session() as session:
        events = [json.loads(r.payload)["data"] for r in session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "payment.received"))]
    assert events[-1]["status"] == "paid" and events[-1]["methods"] == ["transfer"]
    assert {"cooperative", "year", "amount_paid", "payments_count", "methods"} <= set(events[-1])
    again = client.post(f"/api/payment/statement-lines/{line['id']}/confirm", headers=STAFF, json=body)
    assert again.status_code == 409
    assert count(app, Payment) == 1
    # the payer's account is remembered: next year's credit from it is recognised
    assert lines_of(client, statement["id"])[0]["status"] == "confirmed"


def test_allocations_that_do_not_add_up_are_422_and_record_nothing(app, client):
    statement = upload(client, camt053(MOVEMENTS)).json
    line = lines_of(client, statement["id"])[2]
    wrong = {"allocations": [{"cooperative": TILLEULS, "year": YEAR, "amount": "120.00"},
                             {"cooperative": HUGO, "year": YEAR, "amount": "80.00"}]}
    response = client.post(f"/api/payment/statement-lines/{line['id']}/confirm", headers=STAFF, json=wrong)
    assert response.status_code == 422 and "allocations" in response.json["fields"]
    for bad in ({}, {"allocations": [], "slip": 1}, {"allocations": [{"cooperative": "x", "year": YEAR,
                                                                     "amount": "1.00"}]}):
        assert client.post(f"/api/payment/statement-lines/{line['id']}/confirm", headers=STAFF,
                           json=bad).status_code == 422
    unknown = client.post(f"/api/payment/statement-lines/{line['id']}/confirm", headers=STAFF, json={
        "allocations": [{"cooperative": "0389999Z00", "year": YEAR, "amount": "200.50"}]})
    assert unknown.status_code == 422 and unknown.json["fields"]["allocations"]["0"]["cooperative"]
    assert count(app, Payment) == 0


def test_town_hall_credit_split_pays_both(client):
    statement = upload(client, camt053(MOVEMENTS)).json
    line = lines_of(client, statement["id"])[2]
    top = line["suggestions"][0]
    assert "split" in top["reasons"]
    assert [(a["cooperative"], a["amount"]) for a in top["split"]] == [(TILLEULS, "120.00"), (HUGO, "80.50")]
    response = client.post(f"/api/payment/statement-lines/{line['id']}/confirm", headers=STAFF,
                           json={"allocations": top["split"]})
    assert response.status_code == 200, response.json
    assert dues(client, TILLEULS)["status"] == dues(client, HUGO)["status"] == "paid"


def test_confirm_all_confident_lines_in_one_call(client):
    statement = upload(client, camt053(MOVEMENTS)).json
    answer = client.post(f"/api/payment/statements/{statement['id']}/confirm-suggested", headers=STAFF, json={})
    assert answer.status_code == 200 and answer.json == {"confirmed": 2, "skipped": 0}
    assert [i["status"] for i in lines_of(client, statement["id"])] == ["confirmed", "ignored", "confirmed",
                                                                       "unmatched"]
    assert all(dues(client, n)["status"] == "paid" for n in (MOULIN, TILLEULS, HUGO))


def test_remembered_iban_and_line_set_aside(client):
    statement = upload(client, camt053(MOVEMENTS[:1])).json
    line = lines_of(client, statement["id"])[0]
    client.post(f"/api/payment/statement-lines/{line['id']}/confirm", headers=STAFF,
                json={"allocations": [{"cooperative": MOULIN, "year": YEAR, "amount": "100.00"},
                                      {"cooperative": MOULIN, "year": YEAR, "amount": "339.25"}]})
    later = Movement(date(2025, 10, 2), D("20.00"), "VIREMENT", "M DUPONT", "FR7612345000010000000000185")
    second = upload(client, camt053([later])).json
    item = lines_of(client, second["id"])[0]
    assert item["suggestions"][0]["cooperative"] == MOULIN and "iban" in item["suggestions"][0]["reasons"]
    aside = client.post(f"/api/payment/statement-lines/{item['id']}/aside", headers=STAFF, json={})
    assert aside.status_code == 200 and aside.json["status"] == "ignored"
    back = client.post(f"/api/payment/statement-lines/{item['id']}/aside", headers=STAFF, json={"aside": False})
    assert back.json["status"] == "suggested"


def test_cheque_slip_pdf_and_its_bank_credit(app, client):
    opened = client.post("/api/payment/cheque-slips", headers=STAFF, json={"account": "FR76 3000 4000 0312"})
    assert opened.status_code == 201 and opened.json["status"] == "open"
    slip = opened.json["id"]
    cheques = [(MOULIN, "439.25", "1234567"), (TILLEULS, "120.00", "7654321"), (HUGO, "800.50", "0000042")]
    for number, amount, cheque in cheques:
        added = client.post(f"/api/payment/cheque-slips/{slip}/cheques", headers=STAFF, json={
            "cooperative": number, "year": YEAR, "amount": amount, "cheque_number": cheque, "bank": "CCM",
            "drawer": "COOP SCOLAIRE"})
        assert added.status_code == 201, added.json
    assert dues(client, MOULIN)["status"] == "paid" and dues(client, HUGO)["status"] == "overpaid"
    assert dues(client, MOULIN)["methods"] == ["cheque"]
    assert client.get(f"/api/payment/cheque-slips/{slip}.pdf", headers=STAFF).status_code == 409  # still open
    closed = client.post(f"/api/payment/cheque-slips/{slip}/close", headers=STAFF)
    assert closed.status_code == 200
    assert (closed.json["status"], closed.json["count"], closed.json["total"]) == ("closed", 3, "1359.75")
    assert client.post(f"/api/payment/cheque-slips/{slip}/cheques", headers=STAFF, json={
        "cooperative": MOULIN, "year": YEAR, "amount": "1.00", "cheque_number": "1"}).status_code == 409
    pdf = client.get(f"/api/payment/cheque-slips/{slip}.pdf", headers=STAFF)
    assert pdf.status_code == 200 and pdf.content_type == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for expected in ("1234567", "7654321", "0000042", "1 359,75 €", "OCCE de l'Isère", "FR76 3000 4000 0312",
                     opened.json["number"], "Bordereau de remise de chèques", "3"):
        assert expected in text, expected
    credit = Movement(date(2025, 9, 20), D("1359.75"), f"REMISE CHEQUES {opened.json['number']}")
    statement = upload(client, camt053([credit])).json
    line = lines_of(client, statement["id"])[0]
    assert line["suggestions"][0]["slip"] == slip and line["suggestions"][0]["score"] >= 0.9
    payments_before = count(app, Payment)
    confirmed = client.post(f"/api/payment/statement-lines/{line['id']}/confirm", headers=STAFF, json={"slip": slip})
    assert confirmed.status_code == 200, confirmed.json
    assert client.get(f"/api/payment/cheque-slips/{slip}", headers=STAFF).json["status"] == "banked"
    assert count(app, Payment) == payments_before  # the cheques were recorded when they arrived


def test_reversal_takes_dues_back_and_keeps_history(app, client):
    pay = client.post("/api/payment/payments", headers=STAFF, json={
        "cooperative": MOULIN, "year": YEAR, "amount": "439.25", "method": "cheque", "reference": "1234567",
        "received_on": "2025-09-12"}).json["payment"]
    assert dues(client, MOULIN)["status"] == "paid"
    with app.app_context():  # validated: a later reversal flags it for staff, never un-validates
        on_adhesion_validated(adhesion_events.VALIDATED.build({
            **adhesion_events.VALIDATED.example, "year": YEAR, "registration_code": "26/0035 A"}).to_dict())
    assert client.post(f"/api/payment/payments/{pay['id']}/reverse", headers=STAFF, json={}).status_code == 422
    assert client.post(f"/api/payment/payments/{pay['id']}/reverse", headers=STAFF,
                       json={"reason": "x", "amount": "500.00"}).status_code == 422
    partial = client.post(f"/api/payment/payments/{pay['id']}/reverse", headers=STAFF,
                          json={"reason": "Trop-perçu remboursé", "amount": "39.25"})
    assert partial.status_code == 201 and partial.json["dues"]["status"] == "partial"
    assert partial.json["dues"]["attention"]
    full = client.post(f"/api/payment/payments/{pay['id']}/reverse", headers=STAFF, json={"reason": "Chèque impayé"})
    assert full.status_code == 201, full.json
    assert full.json["payment"]["amount"] == "-400.00" and full.json["payment"]["reverses_id"] == pay["id"]
    assert full.json["dues"]["status"] == "unpaid"
    assert client.post(f"/api/payment/payments/{pay['id']}/reverse", headers=STAFF,
                       json={"reason": "encore"}).status_code == 409
    history = client.get(f"/api/payment/payments?cooperative={MOULIN}", headers=STAFF).json["items"]
    assert [(p["amount"], p["reason"], p["recorded_by"]) for p in history] == [
        ("439.25", "", "admin"), ("-39.25", "Trop-perçu remboursé", "admin"), ("-400.00", "Chèque impayé", "admin")]
    assert client.post(f"/api/payment/payments/{history[1]['id']}/reverse", headers=STAFF,
                       json={"reason": "x"}).status_code == 409


def test_other_department_and_schools_see_none_of_it(client):
    statement = upload(client, camt053(MOVEMENTS)).json
    line = lines_of(client, statement["id"])[0]
    slip = client.post("/api/payment/cheque-slips", headers=STAFF, json={}).json["id"]
    assert client.get(f"/api/payment/statements/{statement['id']}/lines", headers=STAFF_69).status_code == 403
    assert client.get("/api/payment/statements", headers=STAFF_69).json["items"] == []
    assert client.post(f"/api/payment/statement-lines/{line['id']}/confirm", headers=STAFF_69, json={
        "allocations": [{"cooperative": MOULIN, "year": YEAR, "amount": "439.25"}]}).status_code == 403
    assert client.get(f"/api/payment/cheque-slips/{slip}", headers=STAFF_69).status_code == 403
    assert client.post(f"/api/payment/statements/{statement['id']}/confirm-suggested", headers=STAFF_69,
                       json={}).status_code == 403
    assert upload(client, camt053(MOVEMENTS), headers=SCHOOL).status_code == 403
    assert client.get("/api/payment/cheque-slips", headers=SCHOOL).status_code == 403
    # the 69 staff's import of the same file is theirs: nothing counted as a duplicate of 38's
    assert upload(client, camt053(MOVEMENTS), headers=STAFF_69).json["new_lines"] == 4


def test_school_sees_its_reference(client):
    answer = client.get(f"/api/payment/dues/{MOULIN}/{YEAR}", headers=SCHOOL).json
    assert answer["reference"] == "RF37260382296P00" and answer["reference_display"] == "RF37 2603 8229 6P00"


def test_registration_code_known_from_adhesion_validated_is_matched(app, client):
    with app.app_context():
        assert on_adhesion_validated(adhesion_events.VALIDATED.build({
            **adhesion_events.VALIDATED.example, "year": YEAR, "registration_code": "26/0035 A"}).to_dict())
    credit = Movement(DAY, D("439.25"), "COTISATION OCCE 26/0035 A")
    line = lines_of(client, upload(client, camt053([credit])).json["id"])[0]
    top = line["suggestions"][0]
    assert top["cooperative"] == MOULIN and top["reasons"] == ["registration_code", "amount_due"]
    assert top["score"] >= 0.9


def test_same_file_imported_twice_at_once_stores_each_line_once(app):
    import threading

    data = csv_statement([Movement(DAY, D("1.00") + i, f"VIREMENT {i}") for i in range(300)], "plain", "utf-8")
    answers = []

    def one():
        answers.append(upload(app.test_client(), data))

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(a.status_code for a in answers) in ([201, 201], [201, 409])
    assert count(app, StatementLine) == 300
    assert sum(a.json.get("new_lines", 0) for a in answers) == 300


def test_validated_arriving_before_submitted_makes_the_due_and_a_late_submitted_changes_nothing(app, client):
    example = adhesion_events.VALIDATED.example
    number = "0384444D00"
    validated = adhesion_events.VALIDATED.build({
        **example, "cooperative": {**example["cooperative"], "number": number}, "year": YEAR, "revision": 2,
        "registration_code": "26/0040 A"}).to_dict()
    with app.app_context():
        assert on_adhesion_validated(validated)
    answer = dues(client, number)
    assert (answer["amount_due"], answer["validated"]) == (example["amounts"]["total"], True)
    submit(app, number, "Ancien nom", "12.00", revision=1)  # the older state, delivered late
    assert dues(client, number)["amount_due"] == example["amounts"]["total"]
