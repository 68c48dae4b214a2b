"""SQLAlchemy columns every service declares alike: the identifiers' widths (a
cooperative number, a school year, a department code), exact money, moments with their
time zone, row ids. One definition each, so the services' tables cannot drift apart on
what the same value is (the migrations already written hold the same types)."""
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.types import ExactDecimal, UtcDateTime


def row_id():
    return mapped_column(Integer, primary_key=True)


def cooperative_number(**options):
    """UAI + account, 6 to 16 characters (``shared.identifiers.NUMBER_RE``)."""
    return mapped_column(String(16), **options)


def school_year(**options):
    """``2025-2026``."""
    return mapped_column(String(9), **options)


def department_code(**options):
    """``38``, ``974``, ``2A``."""
    return mapped_column(String(3), **options)


def money(scale: int = 2, **options):
    """An exact amount: euros and cents, or a rate with ``scale`` decimals."""
    return mapped_column(ExactDecimal(scale), **options)


def moment(**options):
    """A point in time, stored with its zone, read back aware (UTC) on every store."""
    return mapped_column(UtcDateTime(), **options)


def login_name(**options):
    """An account's login: who recorded, imported or decided something."""
    return mapped_column(String(100), **options)


class CooperativeYearMixin:
    """A row about one cooperative's school year, filed under its department (what staff
    access is checked against)."""

    cooperative: Mapped[str] = cooperative_number()
    year: Mapped[str] = school_year()
    department: Mapped[str] = department_code(index=True)


class DepartmentYearCounterMixin:
    """The key of a per-department-and-year counter row (``shared.counters``)."""

    department: Mapped[str] = department_code(primary_key=True)
    year: Mapped[str] = school_year(primary_key=True)
