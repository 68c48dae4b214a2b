"""Exact money: Decimal everywhere, each line rounded half-up to the cent once."""
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def to_cents(value: Decimal) -> Decimal:
    """Round one money line half-up to the cent (1.005 -> 1.01)."""
    if isinstance(value, float):
        raise TypeError("money is never a float")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_eur(value: Decimal) -> str:
    """French display of an amount: ``1 157,11 €``, ``0,00 €``, ``-3,50 €``."""
    cents = to_cents(value)
    sign = "-" if cents < 0 else ""
    units, fraction = f"{abs(cents):.2f}".split(".")
    groups = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    return f"{sign}{' '.join(groups)},{fraction} €"


def format_count_fee(value: Decimal) -> str:
    """A rate as shown beside a count (``2,26 €``), keeping significant decimals."""
    text = format(Decimal(value).normalize(), "f")
    if "." not in text:
        text += ".00"
    units, fraction = text.split(".")
    if len(fraction) < 2:
        fraction = fraction.ljust(2, "0")
    return f"{units},{fraction} €"


def format_number(value: Decimal) -> str:
    """French display of a plain number: ``1 000 000``, ``0,00688`` (no trailing zeros)."""
    text = format(Decimal(value).normalize(), "f")
    units, _, fraction = text.partition(".")
    sign = "-" if units.startswith("-") else ""
    units = units.lstrip("-")
    groups = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    return f"{sign}{' '.join(groups) or '0'}" + (f",{fraction}" if fraction else "")


def money_text(value: Decimal) -> str:
    """An amount as JSON and events carry it: ``"395.50"``."""
    return str(to_cents(value))
