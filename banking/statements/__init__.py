"""Bank statements in, lines out: one parser module per format, each a pure function
from the file's bytes to ``BankLine``s. The format is told from the content, never from
the file name (banks name their exports anything)."""
import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

MAX_INTEGER_DIGITS = 12  # what NUMERIC(14, 2) holds: 999 999 999 999,99
MAX_FRACTION_DIGITS = 5  # CAMT's XSD (ActiveOrHistoricCurrencyAndAmount); the cents are checked apart
CENT = Decimal("0.01")
# a plain decimal: a sign, ASCII digits, one decimal point or comma — no exponent, no
# spaces, no « ² » or full-width digits that str.isdigit() and Decimal() would let in
_PLAIN = re.compile(r"([+-]?)([0-9]+)(?:[.,]([0-9]+))?", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")  # C0 (tab too), DEL, C1 (NEL too), separators


class StatementError(ValueError):
    """The file cannot be read: refused whole. ``line`` as an editor numbers the file (from
    1), or ``element`` for XML, names where."""

    def __init__(self, message: str, line: int | None = None, element: str | None = None):
        where = f"ligne {line} : " if line else (f"élément {element} : " if element else "")
        super().__init__(where + message)
        self.message = where + message
        self.line = line
        self.element = element


def plain_amount(text: str, *, signed: bool = True, fraction_digits: int = MAX_FRACTION_DIGITS,
                 line: int | None = None, element: str | None = None, what: str = "montant",
                 shown: str | None = None) -> Decimal:
    """The one reader of every format's amounts: a plain decimal with at most 12 digits
    before the point (leading zeros aside) and ``fraction_digits`` after, in whole cents;
    ``StatementError`` naming the line or element otherwise. The value keeps the digits
    written (``10.5`` stays ``10.5``): fingerprints of files imported before stay the same."""
    shown = text if shown is None else shown
    quoted = repr(shown if len(shown) <= 40 else shown[:40] + "…")
    match = _PLAIN.fullmatch(text)
    if match is None or (match.group(1) and not signed):
        raise StatementError(f"{what} {quoted} illisible : un nombre décimal simple est attendu.",
                             line=line, element=element)
    sign, units, fraction = match.group(1), match.group(2).lstrip("0") or "0", match.group(3) or ""
    if len(units) > MAX_INTEGER_DIGITS:
        raise StatementError(f"{what} {quoted} invalide : plus de {MAX_INTEGER_DIGITS} chiffres avant la virgule.",
                             line=line, element=element)
    if len(fraction) > fraction_digits:
        raise StatementError(f"{what} {quoted} invalide : plus de {fraction_digits} décimales.",
                             line=line, element=element)
    value = Decimal(f"{sign}{units}.{fraction}" if fraction else f"{sign}{units}")
    if value != value.quantize(CENT):
        raise StatementError(f"{what} {quoted} invalide : pas un montant en centimes.", line=line, element=element)
    return value


def clean_text(text: str) -> str:
    """A label, payer, reference or account as one line: control characters (NUL, C0 and C1,
    DEL) and every kind of line break become a space, runs of spaces one. They are removed
    rather than refused: the file is the bank's, staff cannot correct it, and a stray byte
    in free text says nothing about the money (amounts and dates are read strictly). Text
    without any is returned as it is, so its fingerprint stays that of earlier imports."""
    if not _CONTROL.search(text):
        return text
    return " ".join(_CONTROL.sub(" ", text).split())


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
    # direct debits (CAMT.053): what a creditor needs to recognise a return or a reject
    bank_tx_code: str = ""  # Domn/Fmly/SubFmly, e.g. PMNT/IDDT/UPDD (a return), PMNT/IDDT/PRDD
    return_reason: str = ""  # RtrInf/Rsn/Cd, e.g. AM04
    end_to_end_id: str = ""
    mandate_id: str = ""


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
    from banking.statements import camt053, cfonb120, csv_presets, ofx

    if not data.strip():
        raise StatementError("le fichier est vide.")
    kind = detect(data)
    if kind == "xml":
        raise StatementError("fichier XML qui n'est pas un relevé CAMT.053 (camt.053.001.xx).", element="Document")
    parser = {"camt.053": camt053.parse, "ofx": ofx.parse, "cfonb120": cfonb120.parse, "csv": csv_presets.parse}[kind]
    statement = parser(data)
    # one place for every format: PostgreSQL refuses NUL in text, and no control
    # character belongs in a label staff read or a CSV export writes
    statement.account = clean_text(statement.account)
    statement.lines = [replace(line, label=clean_text(line.label), payer=clean_text(line.payer),
                               payer_iban=clean_text(line.payer_iban), bank_ref=clean_text(line.bank_ref),
                               account=clean_text(line.account), end_to_end_id=clean_text(line.end_to_end_id),
                               mandate_id=clean_text(line.mandate_id), return_reason=clean_text(line.return_reason))
                       for line in statement.lines]
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
