"""Payment rules without I/O: statuses, balance, methods, revisions, path shapes."""
from decimal import Decimal

import pytest

from services.payment import domain

D = Decimal


@pytest.mark.parametrize("due, paid, status", [
    ("439.25", "0.00", "unpaid"),
    ("439.25", "200.00", "partial"),
    ("439.25", "439.24", "partial"),
    ("439.25", "439.25", "paid"),
    ("439.25", "439.26", "overpaid"),
    ("0.00", "0.00", "paid"),  # nothing owed: nothing missing (as the adhesion checklist sees it)
    ("0.00", "5.00", "overpaid"),
])
def test_payment_status(due, paid, status):
    assert domain.payment_status(D(due), D(paid)) == status


def test_guide_example_balance_goes_to_zero_then_negative():
    due = D("439.25")
    assert domain.balance(due, D("0")) == D("439.25")
    paid = domain.total_paid([D("200.00")])
    assert (domain.balance(due, paid), domain.payment_status(due, paid)) == (D("239.25"), "partial")
    paid = domain.total_paid([D("200.00"), D("239.25")])
    assert (paid, domain.balance(due, paid), domain.payment_status(due, paid)) == (D("439.25"), D("0.00"), "paid")
    paid = domain.total_paid([D("200.00"), D("239.25"), D("0.01")])
    assert (domain.balance(due, paid), domain.payment_status(due, paid)) == (D("-0.01"), "overpaid")
    assert str(domain.balance(due, paid)) == "-0.01"


def test_total_paid_is_exact_decimal():
    assert domain.total_paid([D("0.10")] * 3) == D("0.30")
    assert domain.total_paid([]) == D("0.00")
    with pytest.raises(TypeError):
        domain.total_paid([0.1, 0.2])


def test_methods_of_the_contract_and_distinct_in_first_use_order():
    assert domain.METHODS == (
        "cheque", "transfer", "direct_debit", "cash", "collect", "mairie", "sou_des_ecoles", "other")
    assert domain.distinct_methods(["cheque", "transfer", "cheque", "cash"]) == ["cheque", "transfer", "cash"]


def test_only_a_newer_revision_replaces_the_due():
    assert domain.is_newer(1, None)
    assert domain.is_newer(3, 2)
    assert not domain.is_newer(2, 2)
    assert not domain.is_newer(1, 2)




def test_payments_net_of_their_reversals_oldest_first():
    """Issue 25 §3: what the school really paid, one item per payment."""
    from datetime import date
    from decimal import Decimal

    from services.payment.domain import Received, net_received
    day = date(2025, 9, 12)
    payments = [Received(1, Decimal("185.46"), "transfer", "VIR", date(2025, 9, 19)),
                Received(2, Decimal("150.00"), "cheque", "0001234", day),
                Received(3, Decimal("20.00"), "cash", "", day),
                Received(4, Decimal("-20.00"), "cash", "Annulation", day, reverses=3),
                Received(5, Decimal("10.00"), "cheque", "77", day),
                Received(6, Decimal("-4.00"), "cheque", "Annulation", day, reverses=5)]
    assert [(p.id, p.amount) for p in net_received(payments)] == [
        (2, Decimal("150.00")), (5, Decimal("6.00")), (1, Decimal("185.46"))]
