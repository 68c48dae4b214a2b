"""Issue 25 §3: the adhesion entry written as one line per payment (150 € by cheque, then
185,46 € by transfer), each dated as paid with its method, so the pointage meets each one
on the bank statement; the payment service gives the payments, net of reversals."""
from decimal import Decimal

from sqlalchemy import select

from services.ledger.models import Entry
from tests.integration.test_ledger_service import BOOK, SCHOOL, app, client, deliver, validated  # noqa: F401

LINES = [{"date": "2025-09-12", "amount": "150.00", "method": "cheque", "cheque_number": "0001234"},
         {"date": "2025-09-19", "amount": "185.46", "method": "transfer", "account": "bank"}]


def test_one_line_per_payment_dated_as_paid_and_split_exactly(app, client):  # noqa: F811
    envelope = validated(insurance=True, amount_paid="335.46", methods=("cheque", "transfer"))
    envelope["data"]["amounts"] = {"membership": "291.71", "insurance": "43.75", "goods": "0.00",
                                   "instruments": "0.00", "total": "335.46"}
    assert deliver(app, envelope) is True
    written = client.post(f"{BOOK}/adhesion-entry", headers=SCHOOL, json={"voucher": "PJ 3", "lines": LINES})
    assert written.status_code == 201, written.json
    book = client.get(BOOK, headers=SCHOOL).json
    entries = [(e["piece"], e["date"], e["method"], e["cheque_number"], e["amount"], e["voucher"],
                [(a["category"], a["amount"]) for a in e["allocations"]]) for e in book["entries"]]
    assert entries == [
        ("D01", "2025-09-12", "cheque", "0001234", "150.00", "PJ 3", [("62810008", "150.00")]),
        ("D02", "2025-09-19", "transfer", "", "185.46", "PJ 3", [("62810008", "141.71"), ("61681008", "43.75")]),
    ]
    after = client.get(f"{BOOK}/adhesion-entry", headers=SCHOOL).json
    assert after["written"] is True and after["piece"] == "D01"
    again = client.post(f"{BOOK}/adhesion-entry", headers=SCHOOL, json={"lines": LINES})
    assert again.status_code == 409


def test_lines_that_do_not_make_the_amount_are_refused_whole(app, client):  # noqa: F811
    assert deliver(app, validated()) is True  # 439.25
    short = client.post(f"{BOOK}/adhesion-entry", headers=SCHOOL, json={"lines": LINES})
    assert short.status_code == 422 and "lines" in short.json["fields"]
    outside = client.post(f"{BOOK}/adhesion-entry", headers=SCHOOL, json={"lines": [
        {"date": "2025-06-30", "amount": "439.25", "method": "transfer"}]})
    assert outside.status_code == 422 and "date" in outside.json["fields"]["lines"]["0"]
    with app.extensions["service"].database.session() as session:
        assert session.scalars(select(Entry)).all() == []
    assert Decimal(client.get(BOOK, headers=SCHOOL).json["balance"]["bank"]) == 0
