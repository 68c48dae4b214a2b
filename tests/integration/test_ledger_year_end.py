"""The year's end of the cahier de comptes (docs/ledger.md#6-the-years-end): the issue's
worked example end to end over HTTP, on SQLite and PostgreSQL, with every refusal."""
import csv
import io
import json
from datetime import date
from decimal import Decimal

from pypdf import PdfReader
from sqlalchemy import select

from services.ledger.models import OutboxEvent
from tests.integration.test_ledger_service import (  # noqa: F401  (fixtures)
    BOOK,
    NUMBER,
    OTHER,
    SCHOOL,
    STAFF,
    STAFF_69,
    YEAR,
    app,
    bearer,
    client,
    deliver,
    validated,
)
from tests.statement_files import Movement, camt053, csv_statement

INTRUDER = bearer(login=OTHER, role="school", department="38", cooperative=OTHER)
PDF = b"%PDF-1.4\n% releve au 31 aout\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def post_entry(client, headers=SCHOOL, book=BOOK, **body):
    answer = client.post(f"{book}/entries", headers=headers, json=body)
    assert answer.status_code == 201, answer.json
    return answer.json


def income(label, amount, category, day, **rest):
    return dict(date=day, label=label, direction="income", account="bank", method="transfer", amount=amount,
                allocations=[{"category": category, "amount": amount}], **rest)


def expense(label, amount, category, day, **rest):
    return dict(date=day, label=label, direction="expense", account="bank", method="cheque", amount=amount,
                allocations=[{"category": category, "amount": amount}], **rest)


def the_worked_example(app, client):
    """Opening 1 200,00 bank + 50,00 cash; D01 the adhesion (439,25); R01 photos (312,40,
    7…); R02 the town hall's subsidy (500,00, 74…, « Commune de Vienne »); D02 the museum
    by cheque (186,00, 6…), not on the statement at 31/08."""
    deliver(app, validated())
    assert client.put(f"{BOOK}/opening", headers=SCHOOL, json={"bank": "1200.00", "cash": "50.00"}).status_code == 200
    d01 = client.post(f"{BOOK}/adhesion-entry", headers=SCHOOL, json={
        "date": "2025-09-25", "account": "bank", "method": "cheque", "cheque_number": "1234567", "voucher": "PJ 1"})
    assert d01.status_code == 201 and d01.json["piece"] == "D01"
    r01 = post_entry(client, **income("Vente des photos de classe", "312.40", "70710008", "2026-03-10"))
    r02 = post_entry(client, **income("Subvention sortie de fin d'année", "500.00", "74400008", "2026-01-15",
                                      payer="Commune de Vienne"))
    d02 = post_entry(client, **expense("Visite du musée", "186.00", "62510008", "2026-08-28",
                                       cheque_number="7654321"))
    assert (r01["piece"], r02["piece"], d02["piece"]) == ("R01", "R02", "D02")


def test_the_issues_worked_example_closes_and_files_its_crf(app, client):
    the_worked_example(app, client)
    # pointage: D01 by hand, R01 and R02 from the cooperative's own CAMT.053; a statement never
    # shows an operation more than the pairing's 10 days before the entry's date
    too_early = client.post(f"{BOOK}/entries/D01/pointage", headers=SCHOOL, json={"on": "2025-09-14"})
    assert too_early.status_code == 422 and "15/09/2025" in too_early.json["fields"]["on"][0]
    assert client.post(f"{BOOK}/entries/D01/pointage", headers=SCHOOL, json={"on": "0770-10-25"}).status_code == 422
    ticked = client.post(f"{BOOK}/entries/D01/pointage", headers=SCHOOL, json={"on": "2025-10-03"})
    assert ticked.status_code == 200 and ticked.json["pointed_on"] == "2025-10-03"
    statement = camt053([Movement(date(2025, 10, 3), Decimal("-439.25"), "CHEQUE 1234567"),
                         Movement(date(2026, 3, 12), Decimal("312.40"), "VIR PHOTOS SCOLAIRES"),
                         Movement(date(2026, 1, 20), Decimal("500.00"), "VIR MAIRIE DE VIENNE SUBVENTION")])
    imported = client.post(f"{BOOK}/statement", headers=SCHOOL, data=statement,
                           content_type="application/xml")
    assert imported.status_code == 200, imported.json
    assert imported.json["lines"] == 3 and imported.json["format"] == "camt.053"
    pairs = [{"line": p["line"], "entry": p["entry"]} for p in imported.json["proposals"]]
    assert sorted(p["entry"] for p in pairs) == ["R01", "R02"]  # D01 is ticked already
    confirmed = client.post(f"{BOOK}/statement/confirm", headers=SCHOOL, json={"pairs": pairs})
    assert confirmed.status_code == 200 and confirmed.json == {"pointed": 2}
    again = client.post(f"{BOOK}/statement/confirm", headers=SCHOOL, json={"pairs": pairs[:1]})
    assert again.status_code == 422  # a line pairs once
    reimported = client.post(f"{BOOK}/statement", headers=SCHOOL, data=statement, content_type="application/xml")
    assert reimported.json["proposals"] == []

    # closing: each missing piece named
    refused = client.post(f"{BOOK}/close", headers=SCHOOL, json={})
    assert refused.status_code == 409 and refused.json["unmet"] == ["statement_balance", "cash_count"]
    counted = client.put(f"{BOOK}/cash-count", headers=SCHOOL, json={"date": "2026-08-31", "counted": {"20.00": 2}})
    assert counted.json == {"date": "2026-08-31", "counted": {"20.00": 2}, "total": "40.00", "book_cash": "50.00",
                            "difference": "-10.00"}
    # one coin written twice ("20" and "20.00") would lose a count: refused, naming it, nothing kept
    twice = client.put(f"{BOOK}/cash-count", headers=SCHOOL, json={"date": "2026-08-31",
                                                                  "counted": {"20.00": 2, "20": 1}})
    assert twice.status_code == 422
    [(key, [message])] = twice.json["fields"]["counted"][0].items()
    assert {key, message.split("« ")[1].split(" »")[0]} == {"20", "20.00"}
    refused = client.post(f"{BOOK}/close", headers=SCHOOL, json={"statement_balance": "1600.00"})
    assert refused.status_code == 409 and refused.json["unmet"] == ["reconciliation", "cash_count"]
    assert refused.json["expected"] == "1573.15"
    counted = client.put(f"{BOOK}/cash-count", headers=SCHOOL, json={"date": "2026-08-31",
                                                                    "counted": {"20.00": 2, "5.00": 1, "0.50": 10}})
    assert counted.status_code == 200 and counted.json["total"] == "50.00" and counted.json["difference"] == "0.00"
    closed = client.post(f"{BOOK}/close", headers=SCHOOL, json={"statement_balance": "1573.15"})
    assert closed.status_code == 200, closed.json
    assert (closed.json["bank"], closed.json["cash"], closed.json["result"]) == ("1387.15", "50.00", "187.15")

    # a closed book refuses entries; the next exercise opens with the closing balances
    late = client.post(f"{BOOK}/entries", headers=SCHOOL, json=expense("Oubli", "10.00", "62510008", "2026-08-30"))
    assert late.status_code == 409
    assert client.post(f"{BOOK}/entries/D02/pointage", headers=SCHOOL, json={"on": "2026-08-31"}).status_code == 409
    following = client.get(f"/api/ledger/books/{NUMBER}/2026-2027", headers=SCHOOL).json
    assert following["opening"] == {"bank": "1387.15", "cash": "50.00"} and following["opening_carried"] is True
    assert client.put(f"/api/ledger/books/{NUMBER}/2026-2027/opening", headers=SCHOOL,
                      json={"bank": "0.00", "cash": "0.00"}).status_code == 409

    crf = client.get(f"{BOOK}/crf", headers=SCHOOL).json
    assert crf["status"] == "closed"
    assert [(c["code"], c["amount"]) for c in crf["charges"]] == [
        ("61681008", "43.75"), ("62510008", "186.00"), ("62810008", "395.50")]
    assert [(p["code"], p["amount"]) for p in crf["produits"]] == [("70710008", "312.40"), ("74400008", "500.00")]
    assert (crf["total_charges"], crf["total_produits"], crf["result"]) == ("625.25", "812.40", "187.15")
    assert crf["opening"] == {"bank": "1200.00", "cash": "50.00"}
    assert crf["closing"] == {"bank": "1387.15", "cash": "50.00"}
    assert [(o["piece"], o["amount"]) for o in crf["outstanding"]] == [("D02", "186.00")]
    assert crf["subsidies"] == [{"date": "2026-01-15", "payer": "Commune de Vienne", "piece": "R02",
                                 "label": "Subvention sortie de fin d'année", "amount": "500.00"}]
    assert crf["cash_count"]["total"] == "50.00" and crf["statement_attached"] is False and crf["quitus"] is None
    opening_total = Decimal(crf["opening"]["bank"]) + Decimal(crf["opening"]["cash"])
    assert opening_total + Decimal(crf["result"]) == Decimal("1437.15")

    pdf = client.get(f"{BOOK}/crf.pdf", headers=STAFF)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    for shown in ("Compte rendu financier", "1 387,15 €", "50,00 €", "187,15 €", "1 437,15 €", "1 250,00 €",
                  "625,25 €", "812,40 €", "Commune de Vienne", "500,00 €", "Visite du musée", "186,00 €"):
        assert shown in text, shown

    # quitus: two distinct vérificateurs, neither the mandataire
    mandataire = {"name": "Claire Martin", "date": "2026-09-10"}

    def verifier(name, quality="parent"):
        return {"name": name, "quality": quality, "date": "2026-09-10"}

    for verifiers in ([verifier("Paul Durand")], [verifier("Paul Durand"), verifier("paul  durand", "autre")],
                      [verifier("Paul Durand"), verifier("Claire MARTIN", "enseignant")]):
        answer = client.put(f"{BOOK}/crf/quitus", headers=SCHOOL, json={"mandataire": mandataire,
                                                                         "verifiers": verifiers})
        assert answer.status_code == 422 and "verifiers" in answer.json["fields"], answer.json
    quitus = {"mandataire": mandataire, "verifiers": [verifier("Paul Durand"), verifier("Inès Roux", "enseignant")]}
    assert client.put(f"{BOOK}/crf/quitus", headers=SCHOOL, json=quitus).status_code == 200

    # submit refuses a CRF without the statement; the statement is checked from its bytes
    refused = client.post(f"{BOOK}/crf/submit", headers=SCHOOL)
    assert refused.status_code == 409 and refused.json["unmet"] == ["statement"]
    assert client.put(f"{BOOK}/crf/statement", headers=SCHOOL, data=b"GIF89a....",
                      content_type="application/pdf").status_code == 415
    too_big = client.put(f"{BOOK}/crf/statement", headers=SCHOOL, data=PDF + b"0" * (5 * 1024 * 1024),
                         content_type="application/pdf")
    assert too_big.status_code == 413
    attached = client.put(f"{BOOK}/crf/statement", headers=SCHOOL, data=PDF, content_type="application/octet-stream")
    assert attached.status_code == 200 and attached.json["media_type"] == "application/pdf"
    fetched = client.get(f"{BOOK}/crf/statement", headers=STAFF)
    assert fetched.status_code == 200 and fetched.data == PDF and fetched.mimetype == "application/pdf"

    submitted = client.post(f"{BOOK}/crf/submit", headers=SCHOOL)
    assert submitted.status_code == 200 and submitted.json["status"] == "submitted"
    with app.extensions["service"].database.session() as session:
        events = [json.loads(row.payload) for row in session.scalars(
            select(OutboxEvent).where(OutboxEvent.type != "audit.recorded"))]
    assert [(e["type"], e["version"]) for e in events] == [("ledger.crf_submitted", 1)]
    data = events[0]["data"]
    assert data["cooperative"]["email"] == "ce.0382296p@ac-grenoble.fr" and data["sequence"] == 1
    assert data["result"] == "187.15" and data["closing"] == {"bank": "1387.15", "cash": "50.00"}
    assert client.post(f"{BOOK}/crf/submit", headers=SCHOOL).status_code == 409

    # staff: returned with a message, the book reopens; closed and sent again; received
    campaign = client.get(f"/api/ledger/crf/{YEAR}", headers=STAFF).json
    assert [(i["cooperative"], i["status"], i["result"]) for i in campaign["items"]] == [
        (NUMBER, "submitted", "187.15")]
    assert campaign["counts"]["submitted"] == 1
    returned = client.post(f"{BOOK}/crf/return", headers=STAFF, json={"message": "Le relevé n'est pas le bon."})
    assert returned.status_code == 200 and returned.json["status"] == "returned"
    assert returned.json["message"] == "Le relevé n'est pas le bon."
    assert client.get(BOOK, headers=SCHOOL).json["closed"] is False
    assert client.post(f"{BOOK}/close", headers=SCHOOL, json={}).status_code == 200  # the balance is kept
    assert client.post(f"{BOOK}/crf/submit", headers=SCHOOL).status_code == 200
    # the next exercise closed, this one cannot be reopened (its closing is the next opening)
    following = f"/api/ledger/books/{NUMBER}/2026-2027"
    assert client.put(f"{following}/cash-count", headers=SCHOOL, json={
        "date": "2027-08-31", "counted": {"50.00": 1}}).status_code == 200
    assert client.post(f"{following}/close", headers=SCHOOL, json={"statement_balance": "1387.15"}).status_code == 200
    assert client.post(f"{BOOK}/crf/return", headers=STAFF, json={"message": "Non."}).status_code == 409
    assert client.post(f"{following}/reopen", headers=STAFF).status_code == 200
    assert client.post(f"{BOOK}/crf/receive", headers=STAFF).json["status"] == "received"
    assert client.post(f"{BOOK}/reopen", headers=STAFF).status_code == 409  # not after it is received
    with app.extensions["service"].database.session() as session:
        kinds = [row.type for row in session.scalars(select(OutboxEvent).where(
            OutboxEvent.type != "audit.recorded").order_by(OutboxEvent.id))]
    assert kinds == ["ledger.crf_submitted", "ledger.crf_returned", "ledger.crf_submitted"]


def test_staff_of_another_department_get_403_on_every_crf_call(app, client):
    the_worked_example(app, client)
    calls = [("get", f"{BOOK}/crf", None), ("get", f"{BOOK}/crf.pdf", None), ("get", f"{BOOK}/crf/statement", None),
             ("post", f"{BOOK}/crf/receive", None), ("post", f"{BOOK}/crf/return", {"message": "Non."}),
             ("post", f"{BOOK}/reopen", None), ("get", BOOK, None)]
    for method, path, body in calls:
        answer = getattr(client, method)(path, headers=STAFF_69, json=body)
        assert answer.status_code == 403, (path, answer.status_code)
    for method, path, body in calls[:3]:
        assert getattr(client, method)(path, headers=INTRUDER, json=body).status_code == 403, path
    # staff never write a school's year's end; a school never does the staff's steps
    quitus = {"mandataire": {"name": "M", "date": "2026-09-05"},
              "verifiers": [{"name": "A", "quality": "parent", "date": "2026-09-05"},
                            {"name": "B", "quality": "autre", "date": "2026-09-05"}]}
    for method, path, body in [("post", f"{BOOK}/close", {"statement_balance": "1.00"}),
                               ("put", f"{BOOK}/crf/quitus", quitus), ("post", f"{BOOK}/crf/submit", None),
                               ("put", f"{BOOK}/cash-count", {"date": "2026-08-31", "counted": {}}),
                               ("post", f"{BOOK}/entries/D01/pointage", {"on": "2026-08-31"}),
                               ("post", f"{BOOK}/statement/confirm", {"pairs": [{"line": 1, "entry": "D01"}]})]:
        for headers in (STAFF, STAFF_69, INTRUDER):
            assert getattr(client, method)(path, headers=headers, json=body).status_code == 403, path
    for method, path, body in [("post", f"{BOOK}/crf/receive", None), ("post", f"{BOOK}/reopen", None),
                               ("get", f"/api/ledger/crf/{YEAR}", None),
                               ("get", f"/api/ledger/crf/{YEAR}/aggregate.csv", None)]:
        assert getattr(client, method)(path, headers=SCHOOL, json=body).status_code == 403, path
    # the department's list holds only its own cooperatives
    assert client.get(f"/api/ledger/crf/{YEAR}", headers=STAFF_69).json["items"] == []


def file_a_crf(app, client, number, department="38", income_amount="100.00", expense_amount="40.00"):
    """A small book closed, with its quitus and statement, submitted and received."""
    deliver(app, validated(number=number, department=department))
    school = bearer(login=number, role="school", department=department, cooperative=number)
    book = f"/api/ledger/books/{number}/{YEAR}"
    post_entry(client, school, book, **income("Kermesse", income_amount, "70600008", "2026-06-20"))
    post_entry(client, school, book, **expense("Livres", expense_amount, "60220008", "2026-05-02"))
    for piece in ("R01", "D01"):
        assert client.post(f"{book}/entries/{piece}/pointage", headers=school, json={"on": "2026-06-25"}).status_code == 200
    assert client.put(f"{book}/cash-count", headers=school, json={"date": "2026-08-31", "counted": {}}).status_code == 200
    balance = str(Decimal(income_amount) - Decimal(expense_amount))
    assert client.post(f"{book}/close", headers=school, json={"statement_balance": balance}).status_code == 200
    client.put(f"{book}/crf/quitus", headers=school, json={
        "mandataire": {"name": "M", "date": "2026-09-05"},
        "verifiers": [{"name": "A", "quality": "parent", "date": "2026-09-05"},
                      {"name": "B", "quality": "autre", "date": "2026-09-05"}]})
    client.put(f"{book}/crf/statement", headers=school, data=PNG)
    assert client.post(f"{book}/crf/submit", headers=school).status_code == 200
    assert client.post(f"{book}/crf/receive", headers=STAFF).status_code == 200


def test_the_comptes_agreges_of_three_received_crfs(app, client):
    file_a_crf(app, client, "0380001A00", income_amount="100.10")
    file_a_crf(app, client, "0380002B00", income_amount="200.20", expense_amount="0.15")
    file_a_crf(app, client, "0380003C00", income_amount="300.33")
    deliver(app, validated(number="0380004D00"))  # a fourth, not filed: not added
    answer = client.get(f"/api/ledger/crf/{YEAR}/aggregate.csv", headers=STAFF)
    assert answer.status_code == 200 and answer.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(answer.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Compte", "Libellé", "Nature", "Montant"]
    by_label = {row[1]: row[3] for row in rows[1:]}
    by_code = {row[0]: row[3] for row in rows[1:] if row[0]}
    assert by_code == {"60220008": "80,15", "70600008": "600,63"}
    assert by_label["Total des charges"] == "80,15" and by_label["Total des produits"] == "600,63"
    assert by_label["Résultat (produits − charges)"] == "520,48"
    assert by_label["Nombre de comptes rendus additionnés"] == "3"
    campaign = client.get(f"/api/ledger/crf/{YEAR}?status=received", headers=STAFF).json
    assert len(campaign["items"]) == 3 and campaign["counts"]["received"] == 3
    assert campaign["counts"]["not_started"] == 1
    assert client.get(f"/api/ledger/crf/{YEAR}/aggregate.csv", headers=STAFF_69).data.decode("utf-8-sig").count(
        "\n") == 9  # another department: nothing added (header + 8 total lines)


def test_statement_import_from_a_bank_csv_pairs_once(app, client):
    deliver(app, validated())
    post_entry(client, **expense("Cinéma", "84.00", "62510008", "2025-11-04", cheque_number="0001234"))
    post_entry(client, **expense("Cinéma (2e classe)", "84.00", "62510008", "2025-11-04", cheque_number="0001235"))
    post_entry(client, **income("Dons des familles", "150.00", "75600008", "2025-12-01"))
    post_entry(client, **income("Trop loin", "60.00", "75600008", "2025-12-01"))
    statement = csv_statement([
        Movement(date(2025, 11, 12), Decimal("-84.00"), "CHEQUE 0001235"),
        Movement(date(2025, 11, 13), Decimal("-84.00"), "CHEQUE 0001234"),
        Movement(date(2025, 12, 9), Decimal("150.00"), "VIR FAMILLES"),
        Movement(date(2025, 12, 30), Decimal("60.00"), "VIR TROP TARD"),  # 29 days after: not proposed
    ], "credit_mutuel")
    imported = client.post(f"{BOOK}/statement", headers=SCHOOL, data=statement, content_type="text/csv")
    assert imported.status_code == 200, imported.json
    proposals = {p["entry"]: p["statement_line"] for p in imported.json["proposals"]}
    assert proposals["D01"]["cheque_number"] == "1234" and proposals["D02"]["cheque_number"] == "1235"
    assert proposals["R01"]["amount"] == "150.00" and "R02" not in proposals
    assert [line["label"] for line in imported.json["unpaired"]] == ["VIR TROP TARD"]
    pairs = [{"line": p["line"], "entry": p["entry"]} for p in imported.json["proposals"]]
    # one line with two entries is refused whole
    doubled = client.post(f"{BOOK}/statement/confirm", headers=SCHOOL, json={"pairs": [
        pairs[0], {"line": pairs[0]["line"], "entry": "R02"}]})
    assert doubled.status_code == 422
    assert client.post(f"{BOOK}/statement/confirm", headers=SCHOOL, json={"pairs": pairs}).json == {"pointed": 3}
    book = client.get(BOOK, headers=SCHOOL).json
    assert {e["piece"]: e["pointed_on"] for e in book["entries"]} == {
        "D01": "2025-11-13", "D02": "2025-11-12", "R01": "2025-12-09", "R02": None}
    # unticking frees the line, which is proposed again
    assert client.delete(f"{BOOK}/entries/R01/pointage", headers=SCHOOL).json["pointed_on"] is None
    again = client.post(f"{BOOK}/statement", headers=SCHOOL, data=statement, content_type="text/csv").json
    assert [p["entry"] for p in again["proposals"]] == ["R01"]
    bad = client.post(f"{BOOK}/statement", headers=SCHOOL, data=b"date;label;amount\n2025-11-12;X;12,3,4\n",
                      content_type="text/csv")
    assert bad.status_code == 422 and bad.json["line"] == 2


def test_a_subsidy_names_its_payer_and_the_chart_imports_whole(app, client):
    deliver(app, validated())
    refused = client.post(f"{BOOK}/entries", headers=SCHOOL, json=income("Subvention", "100.00", "74400008",
                                                                         "2025-10-01"))
    assert refused.status_code == 422 and "payer" in refused.json["fields"]
    chart = client.get("/api/ledger/categories", headers=SCHOOL).json["items"]
    kinds = {c["code"]: (c["kind"], c["subsidy"]) for c in chart}
    assert kinds["62810008"] == ("charge", False) and kinds["74400008"] == ("produit", True)
    assert len(chart) >= 15

    body = "code;label\n62810008;Cotisations OCCE 38\n60640008;Fournitures de bureau\n74400008;Subventions de la commune\n"
    dry = client.post("/api/ledger/categories/import?dry_run=1", headers=STAFF, data=body.encode("cp1252"),
                      content_type="text/csv")
    assert dry.status_code == 200 and (dry.json["created"], dry.json["updated"], dry.json["unchanged"]) == (1, 1, 1)
    assert "60640008" not in {c["code"] for c in client.get("/api/ledger/categories", headers=STAFF).json["items"]}
    done = client.post("/api/ledger/categories/import", headers=STAFF, data=body.encode(), content_type="text/csv")
    assert done.status_code == 200 and done.json["created"] == 1
    labels = {c["code"]: c["label"] for c in client.get("/api/ledger/categories", headers=STAFF).json["items"]}
    assert labels["62810008"] == "Cotisations OCCE 38" and labels["60640008"] == "Fournitures de bureau"
    other = {c["code"]: c["label"] for c in client.get("/api/ledger/categories", headers=STAFF_69).json["items"]}
    assert other["62810008"] == "Cotisations versées à l'OCCE" and "60640008" not in other
    again = client.post("/api/ledger/categories/import", headers=STAFF, data=body.encode(), content_type="text/csv")
    assert (again.json["created"], again.json["updated"], again.json["unchanged"]) == (0, 0, 3)

    bad = "code;label\n51200000;Banque\n6281;Court\n70600008;\n70600008;Doublon\n60220008;=cmd\u2028x\n"
    refused = client.post("/api/ledger/categories/import", headers=STAFF, data=bad.encode(), content_type="text/csv")
    assert refused.status_code == 422
    assert [(e["line"], e["field"]) for e in refused.json["errors"]] == [
        (2, "code"), (3, "code"), (4, "label"), (5, "code"), (6, "label")]
    assert client.post("/api/ledger/categories/import", headers=SCHOOL, data=body.encode(),
                       content_type="text/csv").status_code == 403
    huge = ("code;label\n" + "60000000;x\n" * 5001).encode()
    assert client.post("/api/ledger/categories/import", headers=STAFF, data=huge,
                       content_type="text/csv").status_code == 413


def test_the_deadline_is_a_department_setting(app, client):
    deliver(app, validated())
    assert client.get("/api/ledger/settings", headers=STAFF).json == {"crf_deadline": "09-30",
                                                                     "crf_reminder_dates": []}
    assert client.put("/api/ledger/settings", headers=STAFF, json={"crf_deadline": "02-29"}).status_code == 422
    assert client.put("/api/ledger/settings", headers=STAFF, json={
        "crf_deadline": "10-01", "crf_reminder_dates": ["02-29"]}).status_code == 422
    assert client.put("/api/ledger/settings", headers=STAFF, json={"crf_deadline": "10-15"}).json == {
        "crf_deadline": "10-15", "crf_reminder_dates": []}
    campaign = client.get(f"/api/ledger/crf/{YEAR}", headers=STAFF).json
    assert campaign["deadline"] == "2026-10-15"
    past = client.get("/api/ledger/crf/2020-2021", headers=STAFF).json
    assert past["items"][0]["late"] is True and past["counts"]["late"] == 1
    assert client.get("/api/ledger/settings", headers=STAFF_69).json["crf_deadline"] == "09-30"
    assert client.get("/api/ledger/settings", headers=SCHOOL).status_code == 403


def test_reminder_rounds_reach_those_not_submitted_once(app, client):
    from services.ledger import service as ledger

    file_a_crf(app, client, "0380001A00")
    deliver(app, validated())  # NUMBER: nothing sent
    deliver(app, validated(number="0380002B00"))
    deliver(app, validated(number="0690001A00", department="69"))  # another department, its own dates
    settings = client.put("/api/ledger/settings", headers=STAFF, json={
        "crf_deadline": "09-30", "crf_reminder_dates": ["10-05", "09-15"]})
    assert settings.json == {"crf_deadline": "09-30", "crf_reminder_dates": ["09-15", "10-05"]}
    ctx = app.extensions["service"]

    def reminders():
        with ctx.database.session() as session:
            return [json.loads(row.payload)["data"] for row in session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "ledger.crf_reminder_due").order_by(OutboxEvent.id))]

    assert ledger.send_due_crf_rounds(ctx, date(2026, 9, 14)) == []
    first = ledger.send_due_crf_rounds(ctx, date(2026, 9, 20))
    assert first == [{"department": "38", "year": YEAR, "date": "2026-09-15", "round": 1, "count": 2}]
    assert ledger.send_due_crf_rounds(ctx, date(2026, 9, 21)) == []  # another tick, another beat: nothing
    assert sorted((r["cooperative"]["number"], r["round"]) for r in reminders()) == [
        ("0380002B00", 1), (NUMBER, 1)]
    assert reminders()[0]["deadline"] == "2026-09-30"
    assert [r["round"] for r in ledger.send_due_crf_rounds(ctx, date(2026, 10, 6))] == [2]
    now = client.post(f"/api/ledger/crf/{YEAR}/reminders", headers=STAFF, json={})
    assert now.json == {"round": 3, "sent": 2}
    assert client.post(f"/api/ledger/crf/{YEAR}/reminders", headers=STAFF, json={"round": 3}).json == {
        "round": 3, "sent": 0}
    assert client.post(f"/api/ledger/crf/{YEAR}/reminders", headers=SCHOOL, json={}).status_code == 403
    assert len(reminders()) == 6 and all(r["department"]["code"] == "38" for r in reminders())
