"""Matching bank credits to dues (docs/reconciliation.md) and the payment reference, without I/O."""
from decimal import Decimal

import pytest

from services.payment import domain
from services.payment.domain import ClosedSlip, Credit, Matcher, OpenDue

D = Decimal
YEAR = "2025-2026"
MOULIN = OpenDue("0382296P00", YEAR, "Coopérative Scolaire de l'École Élémentaire Jean Moulin", "VIENNE", D("439.25"),
                 registration_code="26/0035 A")
TILLEULS = OpenDue("0381111A00", YEAR, "Coop scolaire maternelle Les Tilleuls", "VIENNE", D("120.00"))
HUGO = OpenDue("0382222B00", YEAR, "OCCE Coop Victor Hugo", "VIENNE", D("80.50"))
JAURES = OpenDue("0383333C00", YEAR, "Coopérative scolaire Jean Jaurès", "GRENOBLE", D("439.25"),
                 ibans=frozenset({"FR7612345000010000000000185"}))
DUES = [MOULIN, TILLEULS, HUGO, JAURES]


def best(credit, dues=DUES, slips=()):
    suggestions = Matcher(dues, slips).suggest(credit)
    return suggestions[0] if suggestions else None


def test_reference_is_iso_11649_with_year_and_number():
    reference = domain.payment_reference("0382296P00", YEAR)
    assert reference == "RF37260382296P00"
    assert domain.is_payment_reference(reference)
    assert not domain.is_payment_reference("RF38260382296P00")
    assert domain.format_reference(reference) == "RF37 2603 8229 6P00"
    assert domain.payment_reference("0382296P00", "2024-2025")[4:] == "250382296P00"


def test_normalise_drops_accents_case_and_school_words():
    assert domain.normalise("Coopérative Scolaire de l'École Élémentaire Jean-Moulin") == "JEAN MOULIN"
    assert domain.normalise("COOP SCOL EE JEAN MOULIN") == "JEAN MOULIN"


@pytest.mark.parametrize("label", [
    "VIR SEPA RF37260382296P00", "VIR RF37 2603 8229 6P00 ADHESION", "rf37260382296p00",
])
def test_reference_in_the_label_is_confident_alone(label):
    suggestion = best(Credit(D("100.00"), label))
    assert suggestion["cooperative"] == "0382296P00" and "reference" in suggestion["reasons"]
    assert domain.confident(suggestion)


def test_reference_and_exact_amount():
    suggestion = best(Credit(D("439.25"), "VIR RF37260382296P00"))
    assert suggestion["reasons"] == ["reference", "amount_due"] and suggestion["score"] >= D("0.95")


def test_number_or_registration_code_with_the_amount_is_confident():
    assert best(Credit(D("439.25"), "ADHESION 0382296P00"))["reasons"] == ["number", "amount_due"]
    assert domain.confident(best(Credit(D("439.25"), "ADHESION 0382296P 00")))
    code = best(Credit(D("439.25"), "COTISATION 26/0035 A"))
    assert code["cooperative"] == "0382296P00" and "registration_code" in code["reasons"]
    assert domain.confident(code)


def test_confirmed_iban_is_strong():
    suggestion = best(Credit(D("439.25"), "VIREMENT", payer_iban="FR7612345000010000000000185"))
    assert suggestion["cooperative"] == "0383333C00" and suggestion["reasons"] == ["iban", "amount_due"]


def test_names_alone_are_never_confident():
    suggestion = best(Credit(D("439.25"), "VIR COOP SCOL JEAN MOULIN VIENNE"))
    assert suggestion["cooperative"] == "0382296P00"
    assert set(suggestion["reasons"]) == {"name", "town", "amount_due"}
    assert not domain.confident(suggestion)
    only_name = best(Credit(D("12.00"), "COOP SCOL JEAN MOULIN"))
    assert only_name["cooperative"] == "0382296P00" and only_name["score"] < D("0.6")


def test_a_shared_first_name_is_not_a_name_match():
    suggestions = Matcher(DUES).suggest(Credit(D("12.00"), "JEAN DUPONT"))
    assert suggestions == []


def test_amount_alone_is_a_weak_hint_and_says_nothing_when_many_owe_it():
    alone = Matcher(DUES).suggest(Credit(D("80.50"), "VIREMENT"))
    assert [(s["cooperative"], s["reasons"]) for s in alone] == [("0382222B00", ["amount_due"])]
    assert not domain.confident(alone[0])
    many = [OpenDue(f"03800{i:02d}A00", YEAR, f"Ecole {i}", "X", D("439.25")) for i in range(10)]
    assert Matcher(many).suggest(Credit(D("439.25"), "VIREMENT")) == []


def test_town_hall_naming_two_cooperatives_is_split():
    suggestions = Matcher(DUES).suggest(Credit(D("200.50"), "MAIRIE DE VIENNE 0381111A00 0382222B00"))
    top = suggestions[0]
    assert top["split"] == [{"cooperative": "0381111A00", "year": YEAR, "amount": D("120.00")},
                            {"cooperative": "0382222B00", "year": YEAR, "amount": D("80.50")}]
    assert domain.confident(top) and domain.allocations_total(domain.allocations_of(top)) == D("200.50")


def test_town_hall_of_the_town_split_is_proposed_not_confident():
    suggestions = Matcher(DUES).suggest(Credit(D("200.50"), "VIREMENT", payer="MAIRIE DE VIENNE"))
    top = suggestions[0]
    assert {a["cooperative"] for a in top["split"]} == {"0381111A00", "0382222B00"}
    assert not domain.confident(top)


def test_closed_slip_suggested_on_its_total():
    slip = ClosedSlip(7, "2025-0003", D("250.75"))
    suggestion = best(Credit(D("250.75"), "REMISE CHEQUES 2025-0003"), slips=[slip])
    assert suggestion["slip"] == 7 and suggestion["reasons"] == ["slip_total", "slip_label"]
    assert domain.confident(suggestion)
    assert best(Credit(D("250.75"), "VERSEMENT"), slips=[slip])["score"] < D("0.9")


def test_debits_and_unknown_credits_get_nothing():
    assert Matcher(DUES).suggest(Credit(D("-439.25"), "RF37260382296P00")) == []
    assert Matcher(DUES).suggest(Credit(D("3.00"), "INTERETS")) == []


def test_combined_weights():
    assert domain.combined([]) == 0
    assert round(domain.combined([0.5, 0.5]), 2) == 0.75


def test_a_credit_booked_outside_the_school_year_scores_lower():
    from datetime import date
    previous = OpenDue("0382296P00", "2024-2025", MOULIN.name, "VIENNE", D("439.25"))
    suggestions = Matcher([previous, MOULIN]).suggest(Credit(D("439.25"), "ADHESION 0382296P00",
                                                             booked_on=date(2025, 9, 12)))
    assert [s["year"] for s in suggestions] == [YEAR, "2024-2025"]
    assert "outside_year" in suggestions[1]["reasons"] and not domain.confident(suggestions[1])
    assert domain.in_school_year_window(date(2025, 9, 12), YEAR)
    assert not domain.in_school_year_window(date(2026, 9, 1), YEAR)


def test_a_split_matching_the_amount_is_the_proposal_before_one_named_school():
    """Issue 25 §5: « MANDAT … ECOLES BALZAC ET JULES FERRY — COMMUNE DE MIONS » (770,72 €)
    must not propose the whole credit to Jules Ferry first: the exact split comes first,
    even when another town has a Jules Ferry too."""
    balzac = OpenDue("0691111A00", YEAR, "Coopérative scolaire école élémentaire Balzac", "MIONS", D("314.52"))
    ferry = OpenDue("0692222B00", YEAR, "Coopérative scolaire école Jules Ferry", "MIONS", D("456.20"))
    pasteur = OpenDue("0693333C00", YEAR, "Coopérative scolaire école Pasteur", "MIONS", D("200.00"))
    ferry_bron = OpenDue("0694444D00", YEAR, "Coopérative scolaire Jules Ferry", "BRON", D("300.00"))
    suggestions = Matcher([balzac, ferry, pasteur, ferry_bron]).suggest(
        Credit(D("770.72"), "MANDAT 2025-118 ECOLES BALZAC ET JULES FERRY", payer="COMMUNE DE MIONS"))
    top = suggestions[0]
    assert [(a["cooperative"], a["amount"]) for a in top["split"]] == [("0691111A00", D("314.52")),
                                                                      ("0692222B00", D("456.20"))]
    assert "name" not in top["reasons"] and top["score"] > max(s["score"] for s in suggestions if "split" not in s)
    assert all("split" in s for s in suggestions[:2])


def test_a_town_split_comes_before_a_single_school_named_by_its_name():
    suggestions = Matcher(DUES).suggest(Credit(D("200.50"), "MAIRIE VIENNE ECOLE VICTOR HUGO ET AUTRES"))
    assert "split" in suggestions[0]
