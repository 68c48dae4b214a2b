"""Bank statements in, lines out: one parser module per format, each a pure function
from the file's bytes to ``BankLine``s. The format is told from the content, never from
the file name (banks name their exports anything)."""
import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


class StatementError(ValueError):
    """The file cannot be read: refused whole. ``line`` as an editor numbers the file (from
    1), or ``element`` for XML, names where."""

    def __init__(self, message: str, line: int | None = None, element: str | None = None):
        where = f"ligne {line} : " if line else (f"élément {element} : " if element else "")
        super().__init__(where + message)
        self.message = where + message
        self.line = line
        self.element = element


@dataclass(frozen=True)
class BankLine:
    """One booked movement: credits are positive, debits negative."""

    booked_on: date
    amount: Decimal
    label: str
    payer: str = ""
    payer_iban: str = ""
    bank_ref: str = ""
    account: str = ""
    value_on: date | None = None


@dataclass
class Statement:
    format: str
    lines: list[BankLine]
    account: str = ""
    layout: str = ""
    fingerprints: list[str] = field(default_factory=list)


def detect(data: bytes) -> str:
    """``camt.053``, ``ofx``, ``cfonb120`` or ``csv``, from the first bytes."""
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    lowered = head.lower()
    if b"camt.053.001" in lowered:
        return "camt.053"
    if head.startswith(b"OFXHEADER") or b"<ofx>" in lowered or b"<?ofx" in lowered:
        return "ofx"
    if head.startswith(b"<"):
        return "xml"
    first = head.split(b"\n", 1)[0].rstrip(b"\r")
    # an 01 record: 120 characters, fewer when an editor trimmed its trailing spaces
    if head[:2] == b"01" and b";" not in first and (90 <= len(first) <= 120 or len(data.strip(b"\r\n")) % 120 == 0):
        return "cfonb120"
    return "csv"


def read_statement(data: bytes) -> Statement:
    """Parse a statement of any supported format; ``StatementError`` when it cannot be read."""
    from services.payment.statements import camt053, cfonb120, csv_presets, ofx

    if not data.strip():
        raise StatementError("le fichier est vide.")
    kind = detect(data)
    if kind == "xml":
        raise StatementError("fichier XML qui n'est pas un relevé CAMT.053 (camt.053.001.xx).", element="Document")
    parser = {"camt.053": camt053.parse, "ofx": ofx.parse, "cfonb120": cfonb120.parse, "csv": csv_presets.parse}[kind]
    statement = parser(data)
    statement.fingerprints = fingerprints(statement.lines)
    return statement


def fingerprints(lines: list[BankLine]) -> list[str]:
    """Account, booking date, amount, bank reference (else label) and rank among identical
    lines of that day: a re-import or an overlapping file gives the same fingerprints, while
    two identical lines of one day stay two lines."""
    seen: Counter = Counter()
    result = []
    for line in lines:
        key = (line.account, line.booked_on.isoformat(), str(line.amount), line.bank_ref or " ".join(line.label.split()))
        seen[key] += 1
        text = "|".join(key) + f"|{seen[key]}"
        result.append(hashlib.sha256(text.encode()).hexdigest()[:40])
    return result
