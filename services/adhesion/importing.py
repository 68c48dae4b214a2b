"""Reading the cooperatives' CSV file (docs/campaign.md#3-bulk-onboarding): plain
Python, no I/O.

The file is what a spreadsheet exports: ``;`` or ``,``, UTF-8 (with or without BOM) or
cp1252, header ``number;name;town;email`` on line 1. Every problem is reported with the
line an editor shows (the header is line 1) and the field, so staff fix the file once."""
from dataclasses import dataclass

from marshmallow import ValidationError

from shared.csv_import import MAX_BYTES, MAX_LINES, Problem, TooLarge, decode, read_table  # noqa: F401
from shared.fields import EmailAddress, one_line_problem
from shared.identifiers import NUMBER_RE

COLUMNS = ("number", "name", "town", "email")
LIMITS = {"name": 200, "town": 100, "email": 254}
_email = EmailAddress()


@dataclass(frozen=True)
class Row:
    line: int
    number: str
    name: str
    town: str
    email: str


def parse(body: bytes) -> tuple[list[Row], list[Problem]]:
    records, problems = read_table(body, COLUMNS)
    rows, seen = [], {}
    for line, values in records:
        values["number"] = values["number"].upper()
        found = _check(line, values)
        if values["number"] in seen:
            found.append(Problem(line, "number", f"Numéro déjà présent ligne {seen[values['number']]}."))
        seen.setdefault(values["number"], line)
        problems.extend(found)
        if not found:
            rows.append(Row(line=line, **values))
    return rows, sorted(problems, key=lambda problem: problem.line)


def _check(line: int, values: dict) -> list[Problem]:
    problems = []
    if not NUMBER_RE.fullmatch(values["number"]):
        problems.append(Problem(line, "number", "6 à 16 caractères A–Z et 0–9 (UAI + compte)."))
    for name, limit in LIMITS.items():
        if not values[name]:
            problems.append(Problem(line, name, "Ce champ ne peut pas être vide."))
        elif len(values[name]) > limit:
            problems.append(Problem(line, name, f"Au plus {limit} caractères."))
    if values["email"] and len(values["email"]) <= LIMITS["email"]:
        try:  # the same check as a cooperative created by hand; the domain kept in IDNA
            values["email"] = _email.deserialize(values["email"])
        except ValidationError:
            problems.append(Problem(line, "email", "Adresse e-mail invalide."))
    for name in ("name", "town"):  # one line each, as when typed in the API or the pages
        if problem := one_line_problem(values[name]):
            problems.append(Problem(line, name, problem))
    return problems
