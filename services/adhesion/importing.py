"""Reading the cooperatives' CSV file (docs/campaign.md#3-bulk-onboarding): plain
Python, no I/O.

The file is what a spreadsheet exports: ``;`` or ``,``, UTF-8 (with or without BOM) or
cp1252, header ``number;name;town;email`` on line 1. Every problem is reported with the
line an editor shows (the header is line 1) and the field, so staff fix the file once."""
import csv
import io
import re
from dataclasses import dataclass

from marshmallow import ValidationError

from shared.fields import EmailAddress, one_line_problem
from shared.identifiers import NUMBER_RE

MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 5000
COLUMNS = ("number", "name", "town", "email")
LIMITS = {"name": 200, "town": 100, "email": 254}
_email = EmailAddress()
# the lines of the file as an editor and the csv module count them: U+2028, U+0085 and
# the like are characters of a cell (refused in it), not ends of lines
_LINE_END = re.compile(r"\r\n|\r|\n")
_BYTE_LINES = re.compile(rb"(\r\n|\r|\n)")


class TooLarge(ValueError):
    """Over 2 MB or 5,000 lines: refused whole (413)."""


@dataclass(frozen=True)
class Row:
    line: int
    number: str
    name: str
    town: str
    email: str


@dataclass(frozen=True)
class Problem:
    line: int
    field: str
    message: str


def decode(body: bytes) -> str | None:
    """UTF-8 when the whole file is (a BOM dropped); otherwise line by line, each line
    UTF-8 when it is valid UTF-8, else cp1252 (French Excel's « CSV (séparateur :
    point-virgule) »): a file pasted together from both reads right on every line,
    where one guess for the whole file garbles half of it. None when a line is neither."""
    try:
        return body.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    parts = []
    for part in _BYTE_LINES.split(body.removeprefix(b"\xef\xbb\xbf")):  # the line ends are ASCII in both encodings
        try:
            parts.append(part.decode("utf-8"))
        except UnicodeDecodeError:
            try:
                parts.append(part.decode("cp1252"))
            except UnicodeDecodeError:
                return None
    return "".join(parts)


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
        return [], [Problem(1, "header", "Ligne 1 : l'en-tête number;name;town;email est attendu.")]
    header_line = lines[0]
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader)]
    if sorted(header) != sorted(COLUMNS):
        return [], [Problem(1, "header", f"En-tête attendu : {delimiter.join(COLUMNS)} (lu : {delimiter.join(header)}).")]
    position = {name: header.index(name) for name in COLUMNS}
    rows, problems, seen = [], [], {}
    previous_end = reader.line_num
    for record in _records(reader, problems):
        line, previous_end = previous_end + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue  # a blank line, as spreadsheets leave at the end
        if len(record) != len(COLUMNS):
            problems.append(Problem(line, "line", f"{len(COLUMNS)} colonnes attendues, {len(record)} lues."))
            continue
        values = {name: record[index].strip() for name, index in position.items()}
        values["number"] = values["number"].upper()
        before = len(problems)
        problems.extend(_check(line, values))
        if values["number"] in seen:
            problems.append(Problem(line, "number", f"Numéro déjà présent ligne {seen[values['number']]}."))
        seen.setdefault(values["number"], line)
        if len(problems) == before:
            rows.append(Row(line=line, **values))
    return rows, problems


def _records(reader, problems: list[Problem]):
    """The reader's records until one it cannot read (a cell over the csv module's 128 KB,
    a quote left open to the end): that line is named and the rest is not read."""
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            problems.append(Problem(reader.line_num, "line", f"Ligne illisible ({exc})."))
            return


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
