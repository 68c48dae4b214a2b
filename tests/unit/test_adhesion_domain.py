from datetime import date
from decimal import Decimal as D

import pytest

from services.adhesion import domain
from services.adhesion.domain import ClassRow, Rates
from shared.errors import Conflict, Invalid
from shared.money import format_eur, to_cents


def rates(**overrides) -> Rates:
    values = dict(
        fee_per_student=D("2.26"), fee_per_adult=D("2.26"), fee_per_cooperative=D("0"),
        insurance_per_cooperator=D("0.25"), goods_threshold=D("2000"), goods_rate=D("0.00688"),
        instruments_threshold=D("0"), instruments_rate=D("0.00688"),
        renewal_opens=date(2025, 9, 1), renewal_closes=date(2025, 9, 30),
    )
    values.update(overrides)
    return Rates(**values)


GUIDE = [ClassRow("ECOLE ENTIERE", "mei", 10, 165)]


def test_guide_example():
    totals = domain.totals_of(GUIDE)
    assert (totals.teachers, totals.students, totals.cooperators) == (10, 165, 175)
    amounts = domain.amounts_of(rates(), totals, True, D("0"), D("0"))
    assert (amounts.membership, amounts.insurance, amounts.goods, amounts.instruments) == (
        D("395.50"), D("43.75"), D("0.00"), D("0.00"))
    assert amounts.total == D("439.25")
    assert format_eur(amounts.total) == "439,25 €"


# Every pricing case as data, so that the quote endpoint's test prices the same cases
# through HTTP (tests/integration/test_adhesion_quote.py): rates changed from OCCE 38's,
# rows of (teachers, pupils), insurance, declared goods and instruments, and the expected
# membership, insurance, goods, instruments and total.
PRICING_CASES = {
    "guide": ({}, [(10, 165)], True, "0", "0", ("395.50", "43.75", "0.00", "0.00", "439.25")),
    # (5000 − 2000) × 0.00688 = 20.64
    "goods above threshold": ({}, [(10, 165)], True, "5000.00", "0", ("395.50", "43.75", "20.64", "0.00", "459.89")),
    "goods below threshold": ({}, [(10, 165)], True, "1999.99", "0", ("395.50", "43.75", "0.00", "0.00", "439.25")),
    "instruments from zero": ({}, [(10, 165)], True, "0", "1500.00", ("395.50", "43.75", "0.00", "10.32", "449.57")),
    # 44 × 1.10 + 3 × 3.05 + 15.00
    "different fees and a flat fee": (
        {"fee_per_student": "1.10", "fee_per_adult": "3.05", "fee_per_cooperative": "15.00"},
        [(2, 20), (1, 24)], False, "0", "0", ("72.55", "0.00", "0.00", "0.00", "72.55")),
    # declared values are kept but not charged
    "no insurance": ({}, [(10, 165)], False, "9000", "900", ("395.50", "0.00", "0.00", "0.00", "395.50")),
    "half-up tie 0.125": ({"fee_per_student": "0.125"}, [(0, 1)], False, "0", "0",
                          ("0.13", "0.00", "0.00", "0.00", "0.13")),
    "half-up tie 1.005": ({"fee_per_student": "1.005"}, [(0, 1)], False, "0", "0",
                          ("1.01", "0.00", "0.00", "0.00", "1.01")),
    "half-up tie 0.115": ({"fee_per_student": "0.115"}, [(0, 1)], False, "0", "0",
                          ("0.12", "0.00", "0.00", "0.00", "0.12")),
    # each line rounded once, then summed: 0.005 + 0.005 is 0.02, not 0.01
    "each line rounded once": (
        {"fee_per_student": "0.005", "fee_per_adult": "0", "insurance_per_cooperator": "0.005"},
        [(0, 1)], True, "0", "0", ("0.01", "0.01", "0.00", "0.00", "0.02")),
}


@pytest.mark.parametrize("case", PRICING_CASES.values(), ids=PRICING_CASES.keys())
def test_pricing_cases(case):
    overrides, rows, insurance, goods, instruments, expected = case
    card = rates(**{name: D(value) for name, value in overrides.items()})
    totals = domain.totals_of([ClassRow(f"C{i}", "", t, s) for i, (t, s) in enumerate(rows)])
    amounts = domain.amounts_of(card, totals, insurance, D(goods), D(instruments))
    assert (amounts.membership, amounts.insurance, amounts.goods, amounts.instruments, amounts.total) == tuple(
        D(value) for value in expected)


def test_goods_below_threshold_costs_nothing():
    assert domain.premium(D("1999.99"), D("2000"), D("0.00688")) == D("0.00")


def test_money_never_float():
    with pytest.raises(TypeError):
        to_cents(1.005)


def test_registration_code_uses_second_year():
    assert domain.registration_code("2024-2025", 35) == "25/0035 A"
    assert domain.registration_code("2025-2026", 1) == "26/0001 A"
    assert domain.registration_code_matches_year("26/0007 A", "2025-2026")
    assert not domain.registration_code_matches_year("25/0007 A", "2025-2026")
    assert not domain.registration_code_matches_year("26/0000 A", "2025-2026")


def test_late_outside_window():
    card = rates()
    assert not domain.is_late(card, date(2025, 9, 30))
    assert domain.is_late(card, date(2025, 10, 1))
    assert domain.is_late(card, date(2025, 8, 31))


def test_submission_needs_a_row_a_cooperator_and_a_payment_means():
    assert set(domain.submission_problems([], {})) == {"classes", "payment"}
    assert "classes" in domain.submission_problems([ClassRow("A", "", 0, 0)], {"cheque": True})
    assert domain.submission_problems(GUIDE, {"cheque": True}) == {}


def test_validation_lists_every_unmet_condition():
    assert domain.validation_unmet("draft", D("0"), D("439.25"), False, "pending") == [
        "status", "payment", "engagement", "change_form"]
    assert domain.validation_unmet("submitted", D("439.25"), D("439.25"), True, "received") == []
    assert domain.validation_unmet("submitted", D("439.24"), D("439.25"), True, "not_required") == ["payment"]


def test_payment_received_means_paid_at_least_the_due_once_sent():
    assert not domain.is_payment_received("submitted", D("439.24"), D("439.25"))  # partial is not paid
    assert domain.is_payment_received("submitted", D("439.25"), D("439.25"))
    assert domain.is_payment_received("validated", D("500.00"), D("439.25"))  # overpaid (flagged by payment)
    assert not domain.is_payment_received("draft", D("0.00"), D("0.00"))


def test_transitions_say_what_they_cause():
    guide = [ClassRow("ECOLE ENTIERE", "", 10, 165)]
    cheque = {"transfer": False, "cheque": True, "other": False}
    assert domain.submit("draft", guide, cheque) == domain.Transition("submitted", ("submitted",))
    assert domain.submit("correction_requested", guide, cheque).events == ("submitted",)
    assert domain.submit("submitted", guide, cheque) == domain.Transition("submitted")  # a second click: nothing
    assert domain.request_correction("submitted") == domain.Transition("correction_requested", ("correction_requested",))
    assert domain.validate("submitted", D("439.25"), D("439.25"), True, "not_required").events == ("validated",)
    assert domain.validate("validated", D("0"), D("439.25"), False, "pending") == domain.Transition("validated")
    assert domain.reopen("validated") == domain.Transition("submitted")
    assert domain.save("submitted", D("439.25"), D("441.51")).events == ("submitted",)  # the amount due changed
    assert domain.save("submitted", D("439.25"), D("439.25")).events == ()
    assert domain.save("draft", D("0.00"), D("439.25")).events == ()


@pytest.mark.parametrize("step", [
    lambda: domain.submit("validated", [], {}),
    lambda: domain.request_correction("draft"),
    lambda: domain.reopen("submitted"),
    lambda: domain.save("validated", D("1"), D("1")),
])
def test_transitions_refused_by_the_state_are_conflicts(step):
    with pytest.raises(Conflict):
        step()


def test_incomplete_submission_and_unmet_validation_name_what_is_missing():
    with pytest.raises(Invalid) as refusal:
        domain.submit("draft", [], {"transfer": False, "cheque": False, "other": False})
    assert set(refusal.value.fields) == {"classes", "payment"}
    with pytest.raises(Conflict) as refusal:
        domain.validate("submitted", D("200.00"), D("439.25"), False, "pending")
    assert refusal.value.extra == {"unmet": ["payment", "engagement", "change_form"]}


def test_registration_code_matches_whole():
    assert domain.registration_code_matches_year("26/0001 A", "2025-2026")
    assert not domain.registration_code_matches_year("26/0001 A\n", "2025-2026")
    assert not domain.registration_code_matches_year("25/0001 A", "2025-2026")


def test_carry_over_keeps_names_and_teachers_resets_counts():
    rows = domain.carried_over([ClassRow("CM2", "Mme Durand durand@ac.fr", 1, 27)])
    assert rows == [ClassRow("CM2", "Mme Durand durand@ac.fr", 0, 0)]


def test_french_format():
    assert format_eur(D("1157.11")) == "1 157,11 €"
    assert format_eur(D("0")) == "0,00 €"
    assert format_eur(D("1000000")) == "1 000 000,00 €"


def test_rates_carried_over_keep_the_window_a_year_later():
    from datetime import date
    previous = {"fee_per_student": D("2.26"), "renewal_opens": date(2024, 2, 29),
                "renewal_closes": date(2024, 10, 15)}
    proposal = domain.rates_carried_over(previous)
    assert proposal == {"fee_per_student": D("2.26"), "renewal_opens": date(2025, 2, 28),
                        "renewal_closes": date(2025, 10, 15)}


def test_the_campaign_chart_covers_every_day_with_a_submission_or_a_validation():
    """Issue 25: 7 adhesions validated after a window closing on 15/10 left the chart flat."""
    from datetime import date

    from services.adhesion.domain import campaign_days

    opens, closes = date(2025, 9, 1), date(2025, 10, 15)
    assert campaign_days("2025-2026", opens, closes, []) == campaign_days("2025-2026", opens, closes, [None])
    days = campaign_days("2025-2026", opens, closes, [date(2025, 9, 3), date(2025, 11, 20), date(2025, 6, 30)])
    assert (days[0], days[-1]) == (date(2025, 6, 30), date(2025, 11, 20))
    assert len(days) == (date(2025, 11, 20) - date(2025, 6, 30)).days + 1
    # a day outside the school year's bounds stretches nothing
    days = campaign_days("2025-2026", opens, closes, [date(2026, 12, 3)])
    assert (days[0], days[-1]) == (opens, closes)
