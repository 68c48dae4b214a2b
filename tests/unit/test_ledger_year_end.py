"""The year's end rules without I/O (services/ledger/yearend.py, chart.py) and the CRF's
emails composed from the ledger's contracts."""
from datetime import date
from decimal import Decimal

import pytest

from contracts import ledger as contracts
from services.ledger import chart, yearend
from services.ledger.yearend import BookLine, EntryToPair, LineToPair, Part
from services.notify import domain
from services.notify.mail import compose

D = Decimal


def test_kinds_and_codes():
    assert yearend.kind_of("62810008") == "charge" and yearend.kind_of("7440000") == "produit"
    assert yearend.kind_of("51200000") is None
    for bad in ("628100", "51200000", "62810008000", "6281 008", "６２８１００８"):
        assert yearend.chart_code_problem(bad) is not None, bad
    assert yearend.chart_code_problem("6281000") is None and yearend.chart_code_problem("6281000800") is None
    assert yearend.is_subsidy("74400008") and not yearend.is_subsidy("70600008")


def test_deadline_after_the_exercise():
    assert yearend.deadline("2024-2025", (9, 30)) == date(2025, 9, 30)
    assert yearend.deadline("2024-2025", (1, 15)) == date(2026, 1, 15)


def test_pairs_equal_amount_ten_days_and_cheque_numbers():
    cheque = EntryToPair("D02", date(2026, 8, 28), "expense", D("186.00"), "7654321")
    assert yearend.pairs_with(LineToPair(1, date(2026, 9, 7), D("-186.00")), cheque)
    assert not yearend.pairs_with(LineToPair(1, date(2026, 9, 8), D("-186.00")), cheque)  # 11 days
    assert not yearend.pairs_with(LineToPair(1, date(2026, 9, 1), D("186.00")), cheque)  # a credit
    assert not yearend.pairs_with(LineToPair(1, date(2026, 9, 1), D("-186.00"), "7654322"), cheque)
    assert yearend.pairs_with(LineToPair(1, date(2026, 9, 1), D("-186.00"), "7654321"), cheque)
    assert yearend.cheque_number_in("CHEQUE N° 0007654321") == "7654321"
    assert yearend.cheque_number_in("REMISE CHQ 1234567 DU 02/09") == "1234567"
    assert yearend.cheque_number_in("VIR SEPA MAIRIE") == ""


def test_one_line_one_entry_the_closest_first():
    entries = [EntryToPair("R01", date(2026, 1, 10), "income", D("50.00")),
               EntryToPair("R02", date(2026, 1, 14), "income", D("50.00"))]
    lines = [LineToPair(1, date(2026, 1, 15), D("50.00")), LineToPair(2, date(2026, 1, 11), D("50.00")),
             LineToPair(3, date(2026, 1, 12), D("50.00"))]
    assert yearend.propose_pairs(lines, entries) == [(1, "R02"), (2, "R01")]


def test_closing_checks_name_each_failure():
    lines = [BookLine("D02", date(2026, 8, 28), "Musée", "expense", "bank", D("186.00"), False),
             BookLine("R01", date(2026, 3, 10), "Photos", "income", "bank", D("312.40"), True),
             BookLine("R09", date(2026, 3, 10), "Caisse", "income", "cash", D("5.00"), False)]
    pending = yearend.outstanding(lines)
    assert [line.piece for line in pending] == ["D02"]
    end = date(2026, 8, 31)
    assert yearend.reconciled_balance(D("1387.15"), pending) == D("1573.15")
    count = (end, D("50.00"))
    assert yearend.closing_unmet(D("1573.15"), D("1387.15"), pending, count, D("50.00"), end) == []
    assert yearend.closing_unmet(None, D("1387.15"), pending, None, D("50.00"), end) == [
        "statement_balance", "cash_count"]
    assert yearend.closing_unmet(D("1387.15"), D("1387.15"), pending, (date(2026, 8, 30), D("50.00")), D("50.00"),
                                 end) == ["reconciliation", "cash_count"]


def test_operating_account_and_result():
    parts = [Part("62810008", "expense", D("395.50")), Part("61681008", "expense", D("43.75")),
             Part("62510008", "expense", D("186.00")), Part("70710008", "income", D("312.40")),
             Part("74400008", "income", D("500.00")), Part("62510008", "income", D("6.00")),
             Part("51200000", "income", D("99.00"))]
    totals = yearend.operating_account(parts)
    assert totals["charge"] == {"62810008": D("395.50"), "61681008": D("43.75"), "62510008": D("180.00")}
    assert yearend.result_of(totals) == D("193.15")


def test_cash_count_denominations():
    assert yearend.denomination("0.2") == D("0.20") and yearend.denomination("50") == D("50.00")
    assert yearend.denomination("0.30") is None and yearend.denomination("NaN") is None
    assert yearend.counted_total({D("20.00"): 2, D("5.00"): 1, D("0.50"): 10}) == D("50.00")


@pytest.mark.parametrize("verifiers, field", [
    (["Paul Durand"], "verifiers"),
    (["Paul Durand", "PAUL DURAND"], "1"),
    (["Paul Durand", "Hélène Roux"], None),
    (["Paul Durand", "Claire  Martin"], "1"),
    (["Jean-Marc Petit", "jean marc petit"], "1"),
])
def test_quitus(verifiers, field):
    problems = yearend.quitus_problems("Claire Martin", verifiers)
    if field is None:
        assert problems == {}
    elif field == "verifiers":
        assert list(problems) == ["verifiers"] and isinstance(problems["verifiers"], list)
    else:
        assert field in problems["verifiers"]


def test_attachment_types_from_the_bytes():
    assert yearend.attachment_type(b"%PDF-1.7\n...") == ("application/pdf", "pdf")
    assert yearend.attachment_type(b"\xff\xd8\xff\xe0JFIF") == ("image/jpeg", "jpg")
    assert yearend.attachment_type(b"\x89PNG\r\n\x1a\nIHDR") == ("image/png", "png")
    assert yearend.attachment_type(b"GIF89a") is None and yearend.attachment_type(b"<html>%PDF-") is None


def test_crf_status():
    assert yearend.crf_status(False, False, None) == "not_started"
    assert yearend.crf_status(True, False, None) == "draft"
    assert yearend.crf_status(True, True, None) == "closed"
    assert yearend.crf_status(True, True, "submitted") == "submitted"
    assert yearend.crf_status(True, False, "returned") == "returned"
    assert yearend.is_late("draft", date(2026, 9, 30), date(2026, 10, 1), None)
    assert not yearend.is_late("submitted", date(2026, 9, 30), date(2026, 10, 1), date(2026, 9, 30))


def test_the_chart_csv():
    rows, problems = chart.parse("\ufeffcode;label\r\n62810008;Cotisations\r\n\r\n74400008;Mairie\r\n".encode())
    assert problems == [] and rows == [chart.Row(2, "62810008", "Cotisations"), chart.Row(4, "74400008", "Mairie")]
    rows, problems = chart.parse("label,code\nVentes é,70710008\n".encode("cp1252"))
    assert rows == [chart.Row(2, "70710008", "Ventes é")]
    _, problems = chart.parse(b"code;libelle\n")
    assert [(p.line, p.field) for p in problems] == [(1, "header")]
    _, problems = chart.parse(b"code;label\n70710008;a;b\n" + b"1;x\n")
    assert [(p.line, p.field) for p in problems] == [(2, "line"), (3, "code")]
    with pytest.raises(chart.TooLarge):
        chart.parse(b"code;label\n" + b"60000000;x\n" * 5001)


def test_the_chart_csv_reads_as_the_cooperatives_import_does():
    # one reader for both imports (shared/csv_import.py): a file of UTF-8 and cp1252 lines
    # reads right on each, and a cell past the csv module's 128 KB names its line (no 500)
    mixed = "code;label\n60610008;Fournitures é\n".encode() + "70710008;Ventes è\n".encode("cp1252")
    rows, problems = chart.parse(mixed)
    assert problems == [] and [row.label for row in rows] == ["Fournitures é", "Ventes è"]
    rows, problems = chart.parse(b'code;label\n60610008;x\n70710008;"' + b"y" * 140_000 + b'"\n')
    assert [(p.line, p.field) for p in problems] == [(3, "line")]


@pytest.mark.parametrize("contract, kind, words", [
    (contracts.CRF_SUBMITTED, "crf_ack", ["compte rendu financier", "187,15 €", "1 387,15 €"]),
    (contracts.CRF_RETURNED, "crf_returned", ["doit être corrigé", "Le relevé joint n'est pas celui du 31 août."]),
    (contracts.CRF_REMINDER_DUE, "crf_reminder", ["30/09/2025", "Fin d'exercice"]),
])
def test_the_crf_emails(contract, kind, words):
    event = contract.build(contract.example)
    wanted = domain.email_for(event.type, contract.typed(event.data))
    assert wanted.kind == kind and wanted.to == "ce.0382296p@ac-grenoble.fr"
    assert domain.LANES[kind] == (domain.BULK if kind == "crf_reminder" else domain.TRANSACTIONAL)
    assert wanted.key.startswith(f"{kind}:0382296P00:2024-2025:")
    message = compose(kind, wanted.to, wanted.context, wanted.message_id, "Retkoop <r@occe.local>")
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for word in words:
        assert word in text, word
    assert "2024-2025" in message["Subject"] and "Bonjour" in html
