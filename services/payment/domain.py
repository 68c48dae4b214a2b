"""Payment rules of SPEC §2 as plain Python: what a cooperative owes and has paid.

No Flask, no SQLAlchemy: everything here is unit tested without I/O.
"""
from decimal import Decimal
from typing import Iterable

from shared.money import to_cents

METHODS = ("cheque", "transfer", "direct_debit", "cash", "collect", "mairie", "sou_des_ecoles", "other")

UNPAID = "unpaid"
PARTIAL = "partial"
PAID = "paid"
OVERPAID = "overpaid"
STATUSES = (UNPAID, PARTIAL, PAID, OVERPAID)


def total_paid(amounts: Iterable[Decimal]) -> Decimal:
    return to_cents(sum(amounts, Decimal(0)))


def balance(amount_due: Decimal, amount_paid: Decimal) -> Decimal:
    """What is still owed; negative when more was paid than due."""
    return to_cents(amount_due - amount_paid)


def payment_status(amount_due: Decimal, amount_paid: Decimal) -> str:
    """unpaid (nothing paid of a non-zero due), partial, paid (exactly) or overpaid."""
    if amount_paid <= 0 and amount_due > 0:
        return UNPAID
    if amount_paid < amount_due:
        return PARTIAL
    if amount_paid > amount_due:
        return OVERPAID
    return PAID


def distinct_methods(methods: Iterable[str]) -> list[str]:
    """Each method once, in the order it was first used."""
    return list(dict.fromkeys(methods))


def is_newer(incoming_revision: int, stored_revision: int | None) -> bool:
    """Events may arrive out of order: only a newer revision of the adhesion replaces the due."""
    return stored_revision is None or incoming_revision > stored_revision
