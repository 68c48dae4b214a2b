"""OFX 1.x (SGML) and 2.x (XML) statements, read with ofxtools: its tree builder handles
both syntaxes; amounts go through the statements' one decimal reader, which accepts the
comma French banks write (``150,00``).
The transactions are walked on the tree rather than through ofxtools' strict models, as
French banks' exports often omit elements those models require."""
import io
from datetime import date

from ofxtools import Types
from ofxtools.header import OFXHeaderError
from ofxtools.Parser import OFXTree, ParseError

from banking.statements import BankLine, Statement, StatementError, plain_amount

_DATE = Types.DateTime()


def parse(data: bytes) -> Statement:
    tree = OFXTree()
    try:
        tree.parse(io.BytesIO(data))
    except (ParseError, OFXHeaderError, ValueError, UnicodeDecodeError) as error:
        raise StatementError(f"OFX illisible ({error}).", element="OFX")
    lines: list[BankLine] = []
    first_account = ""
    root = tree.getroot()
    statements = root.findall(".//STMTRS") + root.findall(".//CCSTMTRS")
    if not statements:
        raise StatementError("aucun relevé (STMTRS) dans le fichier.", element="OFX")
    for stmt in statements:
        account = " ".join(filter(None, (stmt.findtext(f"BANKACCTFROM/{tag}") for tag in (
            "BANKID", "BRANCHID", "ACCTID")))) or (stmt.findtext("CCACCTFROM/ACCTID") or "")
        first_account = first_account or account
        for rank, trn in enumerate(stmt.findall("BANKTRANLIST/STMTTRN"), start=1):
            lines.append(_line(trn, rank, account))
    return Statement(format="ofx", lines=lines, account=first_account)


def _line(trn, rank: int, account: str) -> BankLine:
    where = f"STMTTRN n°{rank}"
    amount = plain_amount((trn.findtext("TRNAMT") or "").strip(), element=where, what="montant TRNAMT")
    booked = _date(trn.findtext("DTPOSTED"), where, "DTPOSTED")
    value = _date(trn.findtext("DTAVAIL"), where, "DTAVAIL") if trn.findtext("DTAVAIL") else None
    name = " ".join((trn.findtext("NAME") or trn.findtext("PAYEE/NAME") or "").split())
    memo = " ".join((trn.findtext("MEMO") or "").split())
    label = memo if name and name in memo else " ".join(part for part in (name, memo) if part)
    return BankLine(booked, amount, label, payer=name, bank_ref=(trn.findtext("FITID") or "").strip(),
                    account=account, value_on=value)


def _date(text: str | None, where: str, tag: str) -> date:
    if not text or not text.strip():
        raise StatementError(f"{tag} manquant.", element=where)
    try:
        return _DATE.convert(text.strip()).date()
    except Exception:
        raise StatementError(f"date {tag} {text.strip()!r} illisible.", element=where)
