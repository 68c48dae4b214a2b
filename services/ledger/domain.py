"""Rules of the cahier de comptes (docs/ledger.md) as plain Python: the exercise, piece numbers,
allocations, balances and the adhesion entry proposed after validation.

No Flask, no SQLAlchemy: everything here is unit tested without I/O.
"""
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.money import to_cents

EXPENSE, INCOME = "expense", "income"
DIRECTIONS = (EXPENSE, INCOME)
BANK, CASH = "bank", "cash"
ACCOUNTS = (BANK, CASH)
# How the school paid or was paid: the payment service's methods plus the school's own card.
METHODS = ("cheque", "transfer", "direct_debit", "card", "cash", "collect", "mairie", "sou_des_ecoles", "other")
PIECE_PREFIX = {EXPENSE: "D", INCOME: "R"}  # « dépense », « recette »

# OCCE's chart of accounts: every department's book starts with these two.
MEMBERSHIP_ACCOUNT = "62810008"
INSURANCE_ACCOUNT = "61681008"
OCCE_CHART = (
    (MEMBERSHIP_ACCOUNT, "Cotisations versées à l'OCCE"),
    (INSURANCE_ACCOUNT, "Assurance"),
)
ZERO = Decimal("0.00")


def exercise(year: str) -> tuple[date, date]:
    """The exercise of a school year ``2025-2026``: 1 September 2025 → 31 August 2026."""
    first = int(year[:4])
    return date(first, 9, 1), date(first + 1, 8, 31)


def has_exercise(year: str) -> bool:
    """Whether the calendar holds the exercise of a well-formed ``year``: ``0000-0001``
    would begin on 1 September of year 0, which no date can be."""
    try:
        exercise(year)
    except ValueError:
        return False
    return True


def in_exercise(day: date, year: str) -> bool:
    start, end = exercise(year)
    return start <= day <= end


def default_day(today: date, year: str) -> date:
    """The date a new entry of ``year`` starts with: today, brought inside the exercise."""
    start, end = exercise(year)
    return min(max(today, start), end)


def piece(direction: str, sequence: int) -> str:
    """``D01``, ``D02``… for expenses, ``R01``… for income (``D100`` after ``D99``)."""
    return f"{PIECE_PREFIX[direction]}{sequence:02d}"


def next_sequence(used: Iterable[int]) -> int:
    """The next piece number of a direction: one after the highest, never reusing a gap."""
    return max(used, default=0) + 1


def allocation_problem(amount: Decimal, allocations: Iterable[Decimal]) -> str | None:
    """A French message when the allocations do not add up to the amount, else None."""
    allocated = to_cents(sum(allocations, ZERO))
    if allocated != to_cents(amount):
        return (f"La ventilation ({_fr(allocated)} €) doit être égale au montant de l'écriture "
                f"({_fr(to_cents(amount))} €).")
    return None


def _fr(value: Decimal) -> str:
    return f"{value:.2f}".replace(".", ",")


@dataclass(frozen=True)
class Movement:
    direction: str
    account: str
    amount: Decimal


def balances(opening: dict[str, Decimal], movements: Iterable[Movement]) -> dict[str, Decimal]:
    """Each account's balance: its opening balance, plus income, minus expenses."""
    result = {account: to_cents(opening.get(account, ZERO)) for account in ACCOUNTS}
    for movement in movements:
        sign = 1 if movement.direction == INCOME else -1
        result[movement.account] = to_cents(result[movement.account] + sign * movement.amount)
    return result


@dataclass(frozen=True)
class AdhesionEntry:
    """The expense proposed in the school's book once OCCE validated its adhesion."""

    amount: Decimal
    allocations: tuple[tuple[str, Decimal], ...]
    method: str


def adhesion_entry(amounts: dict[str, Decimal], amount_paid: Decimal, methods: Iterable[str] = ()) -> AdhesionEntry:
    """Membership → 62810008; insurance + goods + instruments → 61681008; the amount is what
    was paid. What is paid beyond the insurance lines is the membership's (an overpayment
    stays with OCCE as the membership line), so the allocations always add up."""
    amount = to_cents(amount_paid if amount_paid > 0 else amounts["total"])
    insurance = to_cents(amounts.get("insurance", ZERO) + amounts.get("goods", ZERO) + amounts.get("instruments", ZERO))
    insurance = min(insurance, amount)
    membership = amount - insurance
    allocations = tuple((code, value) for code, value in ((MEMBERSHIP_ACCOUNT, membership),
                                                          (INSURANCE_ACCOUNT, insurance)) if value > 0)
    return AdhesionEntry(amount=amount, allocations=allocations, method=adhesion_method(methods))


def split_allocations(allocations: list[tuple[str, Decimal]], amounts: list[Decimal]) -> list[list[tuple[str, Decimal]]]:
    """The adhesion's allocations shared out over the payments that made it (150 € by cheque
    then 185,46 € by transfer): each payment takes what is left of the accounts in order,
    membership first, so every line adds up to its payment and all to the whole, exactly."""
    left = [[code, value] for code, value in allocations]
    shares = []
    for amount in amounts:
        share, wanted = [], amount
        for part in left:
            taken = min(part[1], wanted)
            if taken > 0:
                share.append((part[0], taken))
                part[1] -= taken
                wanted -= taken
        shares.append(share)
    return shares


def adhesion_method(methods: Iterable[str]) -> str:
    """The way the adhesion was paid, as the payments recorded it (the first one used);
    a cheque when nothing says otherwise, as the guide's example."""
    for method in methods:
        if method in METHODS:
            return method
    return "cheque"


def account_for(method: str) -> str:
    return CASH if method == "cash" else BANK


def is_newer(incoming_version: int, stored_version: int | None) -> bool:
    """A re-validation replaces an older proposal; a late older event changes nothing."""
    return stored_version is None or incoming_version >= stored_version
