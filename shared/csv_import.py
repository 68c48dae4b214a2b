"""Reading a CSV file staff import (the cooperatives, a department's chart): plain Python,
no I/O. What a spreadsheet exports: ``;`` or ``,``, UTF-8 (with or without BOM) or
cp1252, line by line; a header on line 1; up to 5,000 lines and 2 MB. Every problem is
named by the line an editor shows (the header is line 1) and its field, so staff fix the
file once. Each import checks its own cells (services/adhesion/importing.py,
services/ledger/chart.py)."""
import csv
import io
import re
from dataclasses import dataclass

MAX_BYTES = 2 * 1024 * 1024
MAX_LINES = 5000
# the lines of the file as an editor and the csv module count them: U+2028, U+0085 and
# the like are characters of a cell (refused in it), not ends of lines
_LINE_END = re.compile(r"\r\n|\r|\n")
_BYTE_LINES = re.compile(rb"(\r\n|\r|\n)")


class TooLarge(ValueError):
    """Over 2 MB or 5,000 lines: refused whole (413)."""


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


def read_table(body: bytes, columns: tuple[str, ...]) -> tuple[list[tuple[int, dict[str, str]]], list[Problem]]:
    """The file's records as ``(line, {column: stripped cell})``, blank lines left out,
    and the problems of its shape (encoding, header, column count, an unreadable line);
    TooLarge over the limits."""
    if len(body) > MAX_BYTES:
        raise TooLarge("Le fichier dépasse 2 Mo.")
    text = decode(body)
    if text is None:
        return [], [Problem(1, "file", "Encodage illisible : enregistrez le fichier en UTF-8 ou en CSV Windows.")]
    lines = _LINE_END.split(text.removesuffix("\n").removesuffix("\r"))
    if len([line for line in lines[1:] if line.strip()]) > MAX_LINES:
        raise TooLarge(f"Le fichier dépasse {MAX_LINES} lignes.")
    if not lines or not lines[0].strip():
        return [], [Problem(1, "header", f"Ligne 1 : l'en-tête {';'.join(columns)} est attendu.")]
    delimiter = ";" if lines[0].count(";") >= lines[0].count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip().lower() for name in next(reader)]
    if sorted(header) != sorted(columns):
        return [], [Problem(1, "header", f"En-tête attendu : {delimiter.join(columns)} (lu : {delimiter.join(header)}).")]
    position = {name: header.index(name) for name in columns}
    records, problems = [], []
    previous_end = reader.line_num
    for record in _records(reader, problems):
        line, previous_end = previous_end + 1, reader.line_num
        if not any(cell.strip() for cell in record):
            continue  # a blank line, as spreadsheets leave at the end
        if len(record) != len(columns):
            problems.append(Problem(line, "line", f"{len(columns)} colonnes attendues, {len(record)} lues."))
            continue
        records.append((line, {name: record[index].strip() for name, index in position.items()}))
    return records, problems


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
