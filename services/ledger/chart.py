"""Reading a department's chart of accounts from CSV (``code;label``): plain Python, no I/O.

The same limits and errors as the cooperatives' import (docs/campaign.md#3-bulk-onboarding):
``;`` or ``,``, UTF-8 (BOM or not) or cp1252, header on line 1, up to 5,000 lines and
2 MB; every problem named by the line an editor shows and the column."""
from dataclasses import dataclass

from services.ledger.yearend import chart_code_problem
from shared.csv_import import MAX_BYTES, MAX_LINES, Problem, TooLarge, read_table  # noqa: F401
from shared.fields import one_line_problem

COLUMNS = ("code", "label")
LABEL_MAX = 100


@dataclass(frozen=True)
class Row:
    line: int
    code: str
    label: str


def parse(body: bytes) -> tuple[list[Row], list[Problem]]:
    records, problems = read_table(body, COLUMNS)
    rows, seen = [], {}
    for line, values in records:
        code, label = values["code"], values["label"]
        found = []
        if problem := chart_code_problem(code):
            found.append(Problem(line, "code", problem))
        if not label:
            found.append(Problem(line, "label", "Ce champ ne peut pas être vide."))
        elif len(label) > LABEL_MAX:
            found.append(Problem(line, "label", f"Au plus {LABEL_MAX} caractères."))
        elif problem := one_line_problem(label):
            found.append(Problem(line, "label", problem))
        if code in seen:
            found.append(Problem(line, "code", f"Compte déjà présent ligne {seen[code]}."))
        seen.setdefault(code, line)
        problems.extend(found)
        if not found:
            rows.append(Row(line, code, label))
    return rows, sorted(problems, key=lambda problem: problem.line)
