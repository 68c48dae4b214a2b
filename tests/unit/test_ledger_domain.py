"""The cahier de comptes' rules (docs/ledger.md) without I/O."""
import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest

from services.ledger import domain, export


def test_exercise_runs_from_1_september_to_31_august():
    assert domain.exercise("2025-2026") == (date(2025, 9, 1), date(2026, 8, 31))
    assert domain.in_exercise(date(2025, 9, 1), "2025-2026")
    assert domain.in_exercise(date(2026, 8, 31), "2025-2026")
    assert not domain.in_exercise(date(2025, 8, 31), "2025-2026")
    assert not domain.in_exercise(date(2026, 9, 1), "2025-2026")
    assert domain.in_exercise(date(2028, 2, 29), "2027-2028")  # leap day


def test_default_day_is_today_brought_into_the_exercise():
    assert domain.default_day(date(2025, 10, 3), "2025-2026") == date(2025, 10, 3)
    assert domain.default_day(date(2025, 6, 30), "2025-2026") == date(2025, 9, 1)
    assert domain.default_day(date(2026, 11, 29), "2025-2026") == date(2026, 8, 31)


def test_pieces_are_numbered_per_direction_without_reusing_numbers():
    assert domain.piece("expense", 1) == "D01"
    assert domain.piece("income", 1) == "R01"
    assert domain.piece("expense", 12) == "D12"
    assert domain.piece("expense", 100) == "D100"
    assert domain.next_sequence([]) == 1
    assert domain.next_sequence([1, 2, 3]) == 4
    assert domain.next_sequence([1, 3]) == 4  # a gap is never filled again


def test_allocations_must_add_up_to_the_amount_to_the_cent():
    assert domain.allocation_problem(D("439.25"), [D("395.50"), D("43.75")]) is None
    message = domain.allocation_problem(D("439.25"), [D("395.50"), D("43.74")])
    assert message == "La ventilation (439,24 €) doit être égale au montant de l'écriture (439,25 €)."
    assert domain.allocation_problem(D("10.00"), []) is not None


def test_balances_start_from_the_opening_and_follow_each_account():
    movements = [
        domain.Movement("expense", "bank", D("439.25")),
        domain.Movement("income", "cash", D("12.40")),
        domain.Movement("expense", "cash", D("2.40")),
        domain.Movement("income", "bank", D("0.25")),
    ]
    assert domain.balances({"bank": D("1200.00"), "cash": D("0")}, movements) == {
        "bank": D("761.00"), "cash": D("10.00")}
    assert domain.balances({"bank": D("1200.00"), "cash": D("0")}, movements[:1])["bank"] == D("760.75")
    assert domain.balances({}, []) == {"bank": D("0.00"), "cash": D("0.00")}


def amounts(membership, insurance="0.00", goods="0.00", instruments="0.00"):
    values = {"membership": D(membership), "insurance": D(insurance), "goods": D(goods),
              "instruments": D(instruments)}
    values["total"] = sum(values.values())
    return values


def test_the_guide_example_is_split_membership_and_insurance():
    entry = domain.adhesion_entry(amounts("395.50", "43.75"), D("439.25"), ["cheque"])
    assert entry.amount == D("439.25")
    assert entry.allocations == (("62810008", D("395.50")), ("61681008", D("43.75")))
    assert entry.method == "cheque"


def test_without_insurance_only_the_membership_is_proposed():
    entry = domain.adhesion_entry(amounts("395.50"), D("395.50"), ["transfer"])
    assert entry.allocations == (("62810008", D("395.50")),)
    assert entry.method == "transfer"


def test_goods_and_instruments_go_to_the_insurance_account():
    # 5 000 € of goods: (5 000 − 2 000) × 0,00688 = 20,64 €
    entry = domain.adhesion_entry(amounts("395.50", "43.75", goods="20.64"), D("459.89"), [])
    assert entry.allocations == (("62810008", D("395.50")), ("61681008", D("64.39")))
    entry = domain.adhesion_entry(amounts("395.50", "43.75", "20.64", "6.88"), D("466.77"), [])
    assert dict(entry.allocations)["61681008"] == D("71.27")


def test_what_is_paid_beyond_the_dues_stays_on_the_membership_line():
    entry = domain.adhesion_entry(amounts("395.50", "43.75"), D("440.00"), [])
    assert entry.amount == D("440.00")
    assert entry.allocations == (("62810008", D("396.25")), ("61681008", D("43.75")))
    assert sum(value for _, value in entry.allocations) == entry.amount


def test_nothing_recorded_as_paid_proposes_the_total():
    assert domain.adhesion_entry(amounts("395.50", "43.75"), D("0"), []).amount == D("439.25")


def test_the_method_is_the_first_known_one_used_else_cheque():
    assert domain.adhesion_method(["bitcoin", "transfer", "cheque"]) == "transfer"
    assert domain.adhesion_method([]) == "cheque"
    assert domain.account_for("cash") == "cash" and domain.account_for("cheque") == "bank"


def test_only_a_newer_or_same_validation_replaces_the_proposal():
    assert domain.is_newer(1, None)
    assert domain.is_newer(2, 1)
    assert domain.is_newer(2, 2)
    assert not domain.is_newer(1, 2)


@pytest.fixture
def book():
    return {
        "exercise": {"start": date(2025, 9, 1), "end": date(2026, 8, 31)},
        "opening": {"bank": D("1200.00"), "cash": D("35.00")},
        "balance": {"bank": D("760.75"), "cash": D("47.40")},
        "entries": [
            {"date": date(2025, 10, 2), "piece": "D01", "label": "Adhésion et assurance OCCE 2025 - 2026",
             "method": "cheque", "cheque_number": "1234567", "voucher": "PJ1", "account": "bank",
             "direction": "expense", "amount": D("439.25"),
             "allocations": [{"category": "62810008", "label": "Cotisations versées à l'OCCE", "amount": D("395.50")},
                             {"category": "61681008", "label": "Assurance", "amount": D("43.75")}]},
            {"date": date(2025, 10, 5), "piece": "R01", "label": "Vente de gâteaux ; kermesse", "method": "cash",
             "cheque_number": "", "voucher": "", "account": "cash", "direction": "income", "amount": D("12.40"),
             "allocations": [{"category": "70800000", "label": "Ventes", "amount": D("12.40")}]},
        ],
    }


def test_csv_opens_in_french_excel(book):
    data = export.book_csv(book)
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 byte order mark
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][:10] == ["Date", "Pièce", "Libellé", "Moyen", "N° de chèque", "P.J.", "Banque dépense",
                            "Banque recette", "Caisse dépense", "Caisse recette"]
    assert rows[0][10:] == ["61681008 Assurance", "62810008 Cotisations versées à l'OCCE", "70800000 Ventes"]
    assert rows[1][:10] == ["01/09/2025", "", "Report à nouveau", "", "", "", "", "1200,00", "", "35,00"]
    assert rows[2] == ["02/10/2025", "D01", "Adhésion et assurance OCCE 2025 - 2026", "chèque", "1234567", "PJ1",
                       "439,25", "", "", "", "43,75", "395,50", ""]
    assert rows[3] == ["05/10/2025", "R01", "Vente de gâteaux ; kermesse", "espèces", "", "", "", "", "", "12,40",
                       "", "", "12,40"]  # a ';' in a label is quoted, not a new column
    assert rows[4][2] == "Solde" and rows[4][7] == "760,75" and rows[4][9] == "47,40"
    assert export.filename("0382296P00", "2025-2026") == "cahier-de-comptes-0382296P00-2025-2026.csv"


def test_the_adhesion_shared_out_over_its_payments_adds_up_exactly():
    """Issue 25 §3: 150 € by cheque then 185,46 € by transfer, membership first."""
    from services.ledger.domain import INSURANCE_ACCOUNT, MEMBERSHIP_ACCOUNT, split_allocations
    parts = [(MEMBERSHIP_ACCOUNT, D("291.71")), (INSURANCE_ACCOUNT, D("43.75"))]
    shares = split_allocations(parts, [D("150.00"), D("185.46")])
    assert shares == [[(MEMBERSHIP_ACCOUNT, D("150.00"))],
                      [(MEMBERSHIP_ACCOUNT, D("141.71")), (INSURANCE_ACCOUNT, D("43.75"))]]
    assert split_allocations(parts, [D("335.46")]) == [parts]
