"""The identifiers every service reads in its paths: the cooperative number and the
school year. A malformed one is bad input (400, field named); a well-formed unknown one
is the service's 404."""
import re

YEAR_RE = re.compile(r"^([0-9]{4})-([0-9]{4})\Z")
NUMBER_RE = re.compile(r"^[A-Z0-9]{6,16}\Z")


def is_valid_year(year: str) -> bool:
    """``2025-2026``: the second year is the first plus one."""
    match = YEAR_RE.fullmatch(year or "")
    return bool(match) and int(match.group(2)) == int(match.group(1)) + 1


def is_valid_number(number: str) -> bool:
    """UAI + 2-digit account, e.g. ``0382296P00``."""
    return bool(NUMBER_RE.fullmatch(number or ""))


def path_problems(number: str | None = None, year: str | None = None) -> dict:
    fields = {}
    if number is not None and not is_valid_number(number):
        fields["number"] = ["Numéro de coopérative invalide (6 à 16 caractères A–Z, 0–9)."]
    if year is not None and not is_valid_year(year):
        fields["year"] = ["Année scolaire invalide (format 2025-2026)."]
    return fields
