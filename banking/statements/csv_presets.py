"""CSV exports of the French banks: a few header lines (account, dates, balance) before
the table, ``;`` separator, decimal comma, cp1252 or UTF-8. Each layout is recognised by
its table header; a plain ``date;label;amount`` works too."""
import csv
import io
import re
import unicodedata
from datetime import date
from decimal import Decimal

from charset_normalizer import from_bytes

from banking.statements import CENT, BankLine, Statement, StatementError, plain_amount

# layout → the columns of its table header (normalised: no accents, lower case, letters only)
LAYOUTS = {
    "credit_agricole": ("date", "libelle", "debiteuros", "crediteuros"),
    "caisse_epargne": ("date", "numerodoperation", "libelle", "debit", "credit", "detail"),
    "credit_mutuel": ("date", "datedevaleur", "debit", "credit", "libelle", "solde"),
    "la_banque_postale": ("date", "libelle", "montanteuros"),
    "plain": ("date", "label", "amount"),
}
# Banks rename their columns now and then: each column is read by its role.
ROLES = {
    "date": "date", "dateoperation": "date", "datedoperation": "date", "datecomptable": "date",
    "datedecomptabilisation": "date", "dateope": "date",
    "datedevaleur": "value", "datevaleur": "value",
    "libelle": "label", "label": "label", "libelleoperation": "label", "libellesimplifie": "label",
    "intitule": "label", "description": "label",
    "detail": "detail", "informationscomplementaires": "detail", "libelledetaille": "detail",
    "debit": "debit", "debiteuros": "debit", "montantdebit": "debit",
    "credit": "credit", "crediteuros": "credit", "montantcredit": "credit",
    "montant": "amount", "amount": "amount", "montanteuros": "amount", "montantoperation": "amount",
    "numerodoperation": "ref", "reference": "ref", "referenceoperation": "ref",
}
ACCOUNT = re.compile(r"(?:compte|n°|numéro)[^;0-9A-Z]*;?\s*([0-9][0-9A-Z ]{6,})", re.IGNORECASE)


# C0 controls but tab, LF and CR: charset-normalizer takes a file holding one for binary,
# and they leave every label anyway (statements.clean_text); a space keeps the offsets
_C0_TO_SPACE = bytes.maketrans(bytes(c for c in range(32) if c not in b"\t\n\r"), b" " * 29)


def decode(data: bytes) -> str:
    """UTF-8 when it is valid UTF-8, else what charset-normalizer finds (cp1252 in practice)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        best = from_bytes(data.translate(_C0_TO_SPACE), cp_isolation=["cp1252", "latin_1", "utf_8"]).best()
        if best is None:
            raise StatementError("encodage du fichier non reconnu (UTF-8 ou Windows-1252 attendu).", line=1)
        return str(best)


def _key(cell: str) -> str:
    text = unicodedata.normalize("NFKD", cell).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z]", "", text)


def _layout(cells: list[str]) -> tuple[str, dict[int, str]] | None:
    """The table header: a date, a label and an amount (one signed column, or debit and
    credit); other columns (balance, francs, category) are left aside."""
    keys = [_key(c) for c in cells]
    columns: dict[int, str] = {}
    for index, key in enumerate(keys):
        role = ROLES.get(key)
        if role and role not in columns.values():
            columns[index] = role
    roles = set(columns.values())
    if not ({"date", "label"} <= roles and ("amount" in roles or {"debit", "credit"} <= roles)):
        return None
    present = {k for k in keys if k}
    name = next((name for name, signature in LAYOUTS.items() if set(signature) <= present), "bank")
    return name, columns


def parse(data: bytes) -> Statement:
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";")
    header = None
    account = ""
    lines: list[BankLine] = []
    start = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:  # the csv module's only complaint here: a cell over its limit (128 KB)
            raise StatementError(f"une cellule dépasse {csv.field_size_limit() // 1024} Ko "
                                 "(un guillemet jamais refermé ?).", line=start)
        line_number, start = start, reader.line_num + 1  # a quoted cell may span several lines
        if header is None:
            found = _layout(cells)
            if found:
                header = found
                continue
            match = ACCOUNT.search(";".join(cells))
            if match and not account:
                account = " ".join(match.group(1).split())
            if line_number > 30:
                break
            continue
        if not any(c.strip() for c in cells):
            continue
        lines.append(_line(cells, header[1], line_number, account))
    if header is None:
        raise StatementError("format non reconnu : ni CAMT.053, ni OFX, ni CFONB 120, ni un relevé CSV "
                             "(en-tête date;label;amount ou celui d'une banque) — aucun en-tête de tableau trouvé.",
                             line=1)
    return Statement(format="csv", lines=lines, account=account, layout=header[0])


def _line(cells: list[str], columns: dict[int, str], number: int, account: str) -> BankLine:
    if len(cells) < max(columns) + 1 and any(cells[i:] for i in columns):
        cells = cells + [""] * (max(columns) + 1 - len(cells))
    values = {role: cells[i].strip() for i, role in columns.items()}
    if "amount" in values:
        amount = money(values["amount"], number)
    else:
        debit, credit = values.get("debit", ""), values.get("credit", "")
        if bool(debit) == bool(credit):
            raise StatementError("une opération a soit un débit, soit un crédit.", line=number)
        amount = -abs(money(debit, number)) if debit else abs(money(credit, number))
    label = " ".join(" ".join(part for part in (values.get("label", ""), values.get("detail", "")) if part).split())
    return BankLine(day(values["date"], number), amount, label, bank_ref=values.get("ref", ""), account=account,
                    value_on=day(values["value"], number) if values.get("value") else None)


def money(text: str, number: int) -> Decimal:
    """``1 234,56 €``, ``+150,00``, ``-12.50``, ``1.234,56``: the spaces, the euro sign and
    the thousands dots go, then the statements' one decimal reader reads what is left."""
    cleaned = re.sub(r"[\s\u00a0\u202f€]", "", text)
    if re.fullmatch(r"[+-]?[0-9]{1,3}(\.[0-9]{3})+,[0-9]{1,2}", cleaned):  # 1.234,56
        cleaned = cleaned.replace(".", "")
    return plain_amount(cleaned, line=number, shown=text).quantize(CENT)


def day(text: str, number: int) -> date:
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})", text)
        if match:
            d, m, y = (int(g) for g in match.groups())
            return date(y + 2000 if y < 100 else y, m, d)
    except ValueError:
        pass
    raise StatementError(f"date {text!r} illisible (JJ/MM/AAAA attendu).", line=number)
