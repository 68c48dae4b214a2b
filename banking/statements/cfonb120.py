"""CFONB 120 (« relevé de compte » of the French banks' committee): 120-character records
01 (old balance), 04 (movement), 05 (complement of the movement before it), 07 (new
balance), with or without line breaks, in latin-1. The amount's last character carries its
sign and last digit: ``{`` and ``A``–``I`` are +0…+9, ``}`` and ``J``–``R`` −0…−9."""
import re
from datetime import date
from decimal import Decimal

from banking.statements import CENT, BankLine, Statement, StatementError, plain_amount

RECORD = 120
ASCII_DIGITS = "0123456789"
_POSITIVE = {c: i for i, c in enumerate("{ABCDEFGHI")}
_NEGATIVE = {c: i for i, c in enumerate("}JKLMNOPQR")}
PAYER_QUALIFIERS = ("NPY",)  # nom du payeur
LABEL_QUALIFIERS = ("LIB", "LCC", "RCN", "REF", "LC2", "MMO")


def records(text: str) -> list[tuple[int, str]]:
    """(line number as an editor shows it, record); without line breaks the file is one line."""
    # only CR and LF end a record: str.splitlines() would also cut at 0x85, 0x1C–0x1E, 0x0B
    # or 0x0C, bytes a label may hold in latin-1, and shift every record after it
    lines = re.split(r"\r\n|\r|\n", text.strip("\r\n"))
    if len(lines) == 1 and len(lines[0]) > RECORD:
        one = lines[0]
        if len(one) % RECORD:
            raise StatementError(f"longueur {len(one)} : un multiple de 120 caractères est attendu.", line=1)
        return [(1, one[i:i + RECORD]) for i in range(0, len(one), RECORD)]
    result = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if len(line.rstrip()) > RECORD:
            raise StatementError(f"{len(line.rstrip())} caractères au lieu de 120.", line=number)
        # shorter lines: trailing spaces trimmed by an editor; a missing amount is named below
        result.append((number, line.ljust(RECORD)))
    return result


def parse(data: bytes) -> Statement:
    text = data.decode("latin-1")
    lines: list[BankLine] = []
    details: list[dict] = []
    account = ""
    for number, record in records(text):
        code = record[:2]
        if code == "01":
            account = account or _account(record)
        elif code == "04":
            details.append(_movement(record, number))
        elif code == "05":
            if not details:
                raise StatementError("enregistrement 05 sans opération 04 qui le précède.", line=number)
            qualifier, info = record[45:48], " ".join(record[48:118].split())
            if qualifier in PAYER_QUALIFIERS:
                details[-1]["payer"] = info
            elif info and qualifier in LABEL_QUALIFIERS and details[-1]["full"] and not details[-1]["extra"]:
                details[-1]["label"] += info  # the 04 label was cut at 31 characters: it goes on here
            elif info:
                details[-1]["extra"].append(info)
        elif code == "07":
            continue
        else:
            raise StatementError(f"code d'enregistrement {code!r} inconnu (01, 04, 05 ou 07).", line=number)
    for d in details:
        label = " ".join([d["label"], *d["extra"]]).strip()
        lines.append(BankLine(d["booked"], d["amount"], label, payer=d.get("payer", ""), bank_ref=d["ref"],
                              account=d["account"], value_on=d["value"]))
    return Statement(format="cfonb120", lines=lines, account=account)


def _account(record: str) -> str:
    return f"{record[2:7]} {record[11:16]} {record[21:32]}".strip()


def _movement(record: str, number: int) -> dict:
    decimals = record[19]
    if decimals not in ASCII_DIGITS:  # str.isdigit() takes « ² », which int() refuses
        raise StatementError(f"nombre de décimales {decimals!r} illisible (colonne 20).", line=number)
    return {
        "account": _account(record),
        "booked": _date(record[34:40], number, 35),
        "value": _date(record[42:48], number, 43) if record[42:48].strip() else None,
        "label": " ".join(record[48:79].split()),
        "full": record[78] != " ",
        "amount": signed_amount(record[90:104], int(decimals), number),
        # the bank's entry number and reference: two identical-looking lines differ there
        "ref": " ".join((record[81:88] + " " + record[104:120]).split()),
        "extra": [],
    }


def signed_amount(field: str, decimals: int, number: int = 0) -> Decimal:
    """The 14 columns of an amount, ``decimals`` of them after the implied point, read by the
    statements' one decimal reader (12 digits before the point at most, whole cents)."""
    digits, last = field[:-1], field[-1:]
    if not digits or set(digits) - set(ASCII_DIGITS) or (last not in _POSITIVE and last not in _NEGATIVE):
        raise StatementError(f"montant {field!r} illisible (colonnes 91 à 104).", line=number or None)
    sign = "" if last in _POSITIVE else "-"
    units = digits + str(_POSITIVE.get(last, _NEGATIVE.get(last)))
    text = f"{sign}{units[:len(units) - decimals]}.{units[len(units) - decimals:]}" if decimals else sign + units
    value = plain_amount(text, fraction_digits=decimals, line=number or None, shown=field)
    return value.quantize(CENT)


def _date(text: str, number: int, column: int) -> date:
    try:
        return date(2000 + int(text[4:6]), int(text[2:4]), int(text[0:2]))
    except ValueError:
        raise StatementError(f"date {text!r} illisible (JJMMAA, colonne {column}).", line=number)
