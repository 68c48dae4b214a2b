"""CAMT.053 (ISO 20022 bank-to-customer statement), any ``camt.053.001.xx`` version:
booked entries only; a batched entry gives one line per ``TxDtls``."""
import re
from datetime import date
from decimal import Decimal
from functools import lru_cache

from lxml import etree

from banking.statements import BankLine, Statement, StatementError, plain_amount

NAMESPACE = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.[0-9]{2}\Z")


@lru_cache(maxsize=512)
def _clark(path: str, namespace: str) -> str:
    """``c:Amt/c:Ccy`` → ``{urn:…}Amt/{urn:…}Ccy``: lxml then skips parsing prefixes on
    each of the tens of thousands of look-ups of a large statement."""
    return path.replace("c:", "{" + namespace + "}")


class _Ns:
    """What the helpers below receive as ``ns``: the statement's namespace."""

    def __init__(self, namespace: str):
        self.namespace = namespace

    def __call__(self, path: str) -> str:
        return _clark(path, self.namespace)


def parse(data: bytes) -> Statement:
    # no entities, no network: a statement is data, never a way to read the server's files
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, remove_comments=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise StatementError(f"XML illisible ({error.msg}).", line=error.lineno or None)
    namespace = etree.QName(root).namespace or ""
    if not NAMESPACE.match(namespace):
        raise StatementError(f"espace de noms {namespace or 'absent'} : camt.053.001.xx attendu.", element="Document")
    ns = _Ns(namespace)
    statements = root.findall(ns("c:BkToCstmrStmt/c:Stmt"))
    if not statements:
        raise StatementError("aucun relevé (Stmt) dans le fichier.", element="BkToCstmrStmt")
    lines: list[BankLine] = []
    first_account = ""
    for stmt in statements:
        account = _text(stmt, "c:Acct/c:Id/c:IBAN", ns) or _text(stmt, "c:Acct/c:Id/c:Othr/c:Id", ns)
        first_account = first_account or account
        for entry in stmt.findall(ns("c:Ntry")):
            if _status(entry, ns) != "BOOK":
                continue  # pending or informational entries are not money yet
            lines.extend(_entry_lines(entry, account, ns))
    return Statement(format="camt.053", lines=lines, account=first_account)


def _status(entry, ns) -> str:
    status = entry.find(ns("c:Sts"))
    if status is None:
        raise _missing(entry, "Sts")
    code = status.findtext(ns("c:Cd"))  # .08 and later wrap the code
    return (code if code is not None else status.text or "").strip()


def _entry_lines(entry, account: str, ns) -> list[BankLine]:
    amount = _amount(entry, "c:Amt", ns)
    sign = _sign(entry, ns)
    booked = _date(entry, "c:BookgDt", ns)
    value = _date(entry, "c:ValDt", ns, required=False)
    entry_ref = _text(entry, "c:AcctSvcrRef", ns)
    entry_label = " ".join(x.text.strip() for x in entry.findall(ns("c:AddtlNtryInf")) if x.text)
    details = entry.findall(ns("c:NtryDtls/c:TxDtls"))
    entry_code = _tx_code(entry, ns)
    if not details:
        return [BankLine(booked, sign * amount, entry_label, bank_ref=entry_ref, account=account, value_on=value,
                         bank_tx_code=entry_code)]
    lines = []
    for tx in details:
        tx_amount = amount if len(details) == 1 else _tx_amount(tx, ns)
        tx_sign = _sign(tx, ns) if tx.find(ns("c:CdtDbtInd")) is not None else sign
        label = " ".join(u.text.strip() for u in tx.findall(ns("c:RmtInf/c:Ustrd")) if u.text)
        creditor_ref = _text(tx, "c:RmtInf/c:Strd/c:CdtrRefInf/c:Ref", ns)
        if creditor_ref and creditor_ref not in label:
            label = f"{label} {creditor_ref}".strip()
        label = label or _text(tx, "c:AddtlTxInf", ns) or entry_label
        party = "Cdtr" if tx_sign < 0 else "Dbtr"
        payer = (_text(tx, f"c:RltdPties/c:{party}/c:Nm", ns)  # up to .07
                 or _text(tx, f"c:RltdPties/c:{party}/c:Pty/c:Nm", ns))  # .08 and later
        iban = _text(tx, f"c:RltdPties/c:{party}Acct/c:Id/c:IBAN", ns)
        ref = (_text(tx, "c:Refs/c:AcctSvcrRef", ns) or _text(tx, "c:Refs/c:EndToEndId", ns) or "")
        if ref == "NOTPROVIDED":
            ref = ""
        if len(details) > 1 and not ref:
            ref = f"{entry_ref}/{len(lines) + 1}" if entry_ref else ""
        end_to_end = _text(tx, "c:Refs/c:EndToEndId", ns)
        lines.append(BankLine(booked, tx_sign * tx_amount, label, payer=payer, payer_iban=iban.replace(" ", ""),
                              bank_ref=ref or entry_ref, account=account, value_on=value,
                              bank_tx_code=_tx_code(tx, ns) or entry_code,
                              return_reason=_text(tx, "c:RtrInf/c:Rsn/c:Cd", ns),
                              end_to_end_id="" if end_to_end == "NOTPROVIDED" else end_to_end,
                              mandate_id=_text(tx, "c:Refs/c:MndtId", ns)))
    if len(details) > 1 and sum(line.amount for line in lines) != sign * amount:
        raise StatementError("la somme des transactions (TxDtls) ne fait pas le montant de l'écriture.",
                             line=entry.sourceline)
    return lines


def _tx_code(node, ns) -> str:
    """``PMNT/IDDT/UPDD``: the ISO bank transaction code of an entry or a transaction, ""
    when it has none (a proprietary code alone says nothing this system reads)."""
    domain = _text(node, "c:BkTxCd/c:Domn/c:Cd", ns)
    if not domain:
        return ""
    family = _text(node, "c:BkTxCd/c:Domn/c:Fmly/c:Cd", ns)
    sub_family = _text(node, "c:BkTxCd/c:Domn/c:Fmly/c:SubFmlyCd", ns)
    return "/".join((domain, family, sub_family))


def _tx_amount(tx, ns) -> Decimal:
    for path in ("c:Amt", "c:AmtDtls/c:TxAmt/c:Amt", "c:AmtDtls/c:InstdAmt/c:Amt"):
        if tx.find(ns(path)) is not None:
            return _amount(tx, path, ns)
    raise _missing(tx, "Amt")


def _amount(parent, path, ns) -> Decimal:
    node = parent.find(ns(path))
    if node is None or not (node.text or "").strip():
        raise _missing(parent, path.split(":")[-1])
    # unsigned: CdtDbtInd carries the sign
    return plain_amount(node.text.strip(), signed=False, line=node.sourceline)


def _sign(parent, ns) -> int:
    indicator = _text(parent, "c:CdtDbtInd", ns)
    if indicator == "CRDT":
        return 1
    if indicator == "DBIT":
        return -1
    raise StatementError("CdtDbtInd doit valoir CRDT ou DBIT.", line=parent.sourceline)


def _date(parent, path, ns, required=True) -> date | None:
    node = parent.find(ns(path))
    if node is None:
        if required:
            raise _missing(parent, path.split(":")[-1])
        return None
    text = node.findtext(ns("c:Dt")) or node.findtext(ns("c:DtTm")) or ""
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise StatementError(f"date {text.strip()!r} illisible dans {path.split(':')[-1]}.", line=node.sourceline)


def _text(parent, path, ns) -> str:
    value = parent.findtext(ns(path))
    return " ".join(value.split()) if value else ""


def _missing(parent, name) -> StatementError:
    return StatementError(f"{name} manquant dans {etree.QName(parent).localname}.", line=parent.sourceline)
