"""Reading a department's chart of accounts from CSV (``code;label``): plain Python, no I/O.

The same limits and errors as the cooperatives' import (docs/campaign.md#3-bulk-onboarding):
``;`` or ``,``, UTF-8 (BOM or not) or cp1252, header on line 1, up to 5,000 lines and
2 MB; every problem named by the line an editor shows and the column."""
import csv
import io
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

from services.ledger.yearend import chart_code_problem
from shared.fields import one_line_problem

MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 5000
COLUMNS = ("code", "label")
LABEL_MAX = 100
_LINE_END = re.compile(r"\r\n|\r|\n")


class TooLarge(ValueError):
    """Over 2 MB or 5,000 lines: refused whole (413)."""


@dataclass(frozen=True)
class Row:
    line: int
    code: str
    label: str


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    message: str


def decode(body: bytes) -> str | None:
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    best = from_bytes(body, cp_isolation=["cp1252", "utf_8"]).best()
    return str(best) if best is not None else None


def parse(body: bytes) -> tuple[list[Row], list[Problem]]:
    if len(body) > MAX_BYTES:
        raise TooLarge("Le fichier dépasse 2 Mo.")
    text = decode(body)
    if text is None:
        return [], [Problem(1, "file", "Encodage illisible : enregistrez le fichier en UTF-8 ou en CSV Windows.")]
    lines = _LINE_END.split(text.removesuffix("\n").removesuffix("\r"))
    if len([line for line in lines[1:] if line.strip()]) > MAX_LINES:
        raise TooLarge(f"Le fichier dépasse {MAX_LINES} lignes.")
    if not lines or not lines[0].strip():
        return [], [Problem(1, "header", "Ligne 1 : l'en-tête code;label est attendu.")]
    delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader)]
    if sorted(header) != sorted(COLUMNS):
        return [], [Problem(1, "header", f"En-tête attendu : {delimiter.join(COLUMNS)} (lu : {delimiter.join(header)}).")]
    position = {name: header.index(name) for name in COLUMNS}
    rows, problems, seen = [], [], {}
    previous_end = reader.line_num
    for record in reader:
        line, previous_end = previous_end + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(COLUMNS):
            problems.append(Problem(line, "line", f"{len(COLUMNS)} colonnes attendues, {len(record)} lues."))
            continue
        code, label = (record[position[name]].strip() for name in COLUMNS)
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
    return rows, problems
