"""The one CSV writer of every export staff and schools download: what French Excel opens
as it is (``;`` between columns, CRLF, decimal comma, UTF-8 with a byte order mark —
without it Excel reads cp1252), and formula-safe.

A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in
some, after a tab or CR): a cooperative's name or a ledger label such as
``=HYPERLINK("http://…")`` would run in staff's Excel. Every text cell that starts so
gets a leading ``'``, as OWASP recommends ("CSV injection"), so that it reads as the
text it is. The amounts and counts the export itself writes are not text: the export
passes them as ``Decimal`` or ``int`` and they stay numbers Excel can add up, ``-2,50``
included. A text that merely looks like a number (a label ``-3``) is still text, and
neutralised like any other: only the export knows which cells are money."""
import csv
import io
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

BOM = "\ufeff"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def text_cell(value: str) -> str:
    """A text as a spreadsheet shows it, never evaluates it: ``=1+1`` → ``'=1+1``. Spaces
    before the sign do not save a formula in every spreadsheet, so they are looked past."""
    return "'" + value if value.lstrip(" \u00a0")[:1] in FORMULA_STARTS else value


def number_cell(value: Decimal | int) -> str:
    """An amount or a count the export writes: ``-2.50`` → ``-2,50``, never in exponent form."""
    return str(value) if isinstance(value, int) else format(value, "f").replace(".", ",")


def cell(value) -> str:
    """``Decimal`` and ``int``: numbers; ``date``: 31/08/2026; ``None``: empty; anything else: text."""
    if value is None:
        return ""
    if isinstance(value, (bool, float)):
        raise TypeError(f"a CSV cell is never a {type(value).__name__}: say what it means")
    if isinstance(value, (Decimal, int)):
        return number_cell(value)
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    return text_cell(str(value))


def csv_bytes(header: Iterable, rows: Iterable[Iterable]) -> bytes:
    """The header and the rows as the bytes of the file."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow([cell(value) for value in header])
    writer.writerows([cell(value) for value in row] for row in rows)
    return (BOM + out.getvalue()).encode("utf-8")
