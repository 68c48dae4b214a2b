"""Direct debit rules (docs/sepa.md) as plain Python: when an adhesion is collected, for
how much, when a mandate expires, what a batch is called. No Flask, no SQLAlchemy."""
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

PENDING, ACTIVE, REVOKED, EXPIRED = "pending", "active", "revoked", "expired"
MANDATE_STATUSES = (PENDING, ACTIVE, REVOKED, EXPIRED)
PLANNED, EXPORTED, PAID, RETURNED = "planned", "exported", "paid", "returned"
COLLECTION_STATUSES = (PLANNED, EXPORTED, PAID, RETURNED)
BUILT, BATCH_EXPORTED, CREDITED = "built", "exported", "credited"
EXPIRY_MONTHS = 36
RETURN_CODES = frozenset({"PMNT/IDDT/UPDD", "PMNT/IDDT/PRDD", "PMNT/RDDT/UPDD", "PMNT/RDDT/PRDD"})
MANDATE_STATUS_TEXT = {PENDING: "En attente de signature", ACTIVE: "Actif", REVOKED: "Révoqué", EXPIRED: "Expiré"}
COLLECTION_STATUS_TEXT = {PLANNED: "Prévu", EXPORTED: "Transmis à la banque", PAID: "Payé", RETURNED: "Rejeté"}


def collection_date_for(dates: Iterable[date], today: date, notice_days: int) -> date | None:
    """The first collection date at least ``notice_days`` after ``today`` (the school is
    pre-notified today), or None when the department has set none that far ahead."""
    earliest = today + timedelta(days=notice_days)
    return min((d for d in dates if d >= earliest), default=None)


def collectable(amount: Decimal) -> bool:
    """A zero or negative line makes the bank refuse the whole file: never collected."""
    return amount > 0


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)


def expired(last_use: date, today: date) -> bool:
    """A mandate unused for 36 months lapses (SEPA rulebook): counted from its last
    collection, or its signature when it never served."""
    return today >= add_months(last_use, EXPIRY_MONTHS)


def message_id(department: str, collection_date: date, presentation: int = 1) -> str:
    """``RKP-38-20251015``: one batch per department and collection date (≤ 35 characters)."""
    return f"RKP-{department}-{collection_date:%Y%m%d}" + (f"-{presentation}" if presentation > 1 else "")


def is_return(bank_tx_code: str, return_reason: str) -> bool:
    """A CAMT.053 debit the bank booked against a collection: an unpaid (UPDD) or a
    reversal (PRDD) of a direct debit, with its reason."""
    return bank_tx_code in RETURN_CODES or (bank_tx_code.startswith("PMNT/IDDT") and bool(return_reason))


def notice_sequence(collection_id: int, notices: int) -> int:
    """The number of a collection's nth email: distinct across collections and growing."""
    return collection_id * 100 + notices
