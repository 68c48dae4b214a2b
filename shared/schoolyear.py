"""The school year: ``"2025-2026"`` runs from 1 September 2025 to 31 August 2026. The one
place that knows which year a day belongs to and where a year begins and ends."""
from datetime import date

from shared.identifiers import is_valid_year

FIRST_MONTH = 9  # September


def of(day: date) -> str:
    """The school year ``day`` falls in: 2025-09-01 → ``2025-2026``, 2026-08-31 → ``2025-2026``."""
    first = day.year if day.month >= FIRST_MONTH else day.year - 1
    return f"{first}-{first + 1}"


def years(year: str) -> tuple[int, int]:
    """``"2025-2026"`` → (2025, 2026); ValueError for anything else."""
    if not is_valid_year(year):
        raise ValueError(f"school year must look like 2025-2026, got {year!r}")
    return int(year[:4]), int(year[5:])


def first_day(year: str) -> date:
    return date(years(year)[0], FIRST_MONTH, 1)


def last_day(year: str) -> date:
    return date(years(year)[1], FIRST_MONTH - 1, 31)


def contains(year: str, day: date) -> bool:
    return first_day(year) <= day <= last_day(year)


def previous(year: str) -> str:
    first, _ = years(year)
    return f"{first - 1}-{first}"


def following(year: str) -> str:
    _, second = years(year)
    return f"{second}-{second + 1}"
