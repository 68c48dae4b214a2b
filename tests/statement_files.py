"""Bank statement files the tests (and bench/reconcile.py) write, in every format the
payment service reads. Made up from movements given by the test: never real bank data."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

ACCOUNT_IBAN = "FR7630004000031234567890143"


@dataclass
class Movement:
    booked_on: date
    amount: Decimal  # credits positive, debits negative
    label: str
    payer: str = ""
    iban: str = ""
    ref: str = ""
    pending: bool = False


def camt053(movements, version: str = "08", batches: dict | None = None) -> bytes:
    """A CAMT.053 statement; ``batches`` maps an index of ``movements`` to the list of
    movements booked as one batched entry (one ``TxDtls`` each)."""
    ns = f"urn:iso:std:iso:20022:tech:xsd:camt.053.001.{version}"
    modern = int(version) >= 8
    entries = []
    groups = [[m] for m in movements] + [list(b) for b in (batches or {}).values()]
    for n, group in enumerate(groups, start=1):
        total = sum(abs(m.amount) for m in group)
        first = group[0]
        indicator = "CRDT" if first.amount > 0 else "DBIT"
        status = ("<Sts><Cd>{}</Cd></Sts>" if modern else "<Sts>{}</Sts>").format("PDNG" if first.pending else "BOOK")
        details = "".join(_tx(m, modern, len(group) > 1) for m in group)
        entries.append(f"""
      <Ntry>
        <NtryRef>{n}</NtryRef>
        <Amt Ccy="EUR">{total:.2f}</Amt>
        <CdtDbtInd>{indicator}</CdtDbtInd>
        {status}
        <BookgDt><Dt>{first.booked_on.isoformat()}</Dt></BookgDt>
        <ValDt><Dt>{first.booked_on.isoformat()}</Dt></ValDt>
        <AcctSvcrRef>ENTRY{n:06d}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls>{details}</NtryDtls>
      </Ntry>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{ns}">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STMT-TEST</MsgId><CreDtTm>2025-09-30T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-1</Id>
      <CreDtTm>2025-09-30T18:00:00</CreDtTm>
      <Acct><Id><IBAN>{ACCOUNT_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>{''.join(entries)}
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()


def _tx(m: Movement, modern: bool, batched: bool) -> str:
    party = "Dbtr" if m.amount > 0 else "Cdtr"
    name = f"<Pty><Nm>{escape(m.payer)}</Nm></Pty>" if modern else f"<Nm>{escape(m.payer)}</Nm>"
    account = f"<{party}Acct><Id><IBAN>{m.iban}</IBAN></Id></{party}Acct>" if m.iban else ""
    amount = f'<Amt Ccy="EUR">{abs(m.amount):.2f}</Amt><CdtDbtInd>{"CRDT" if m.amount > 0 else "DBIT"}</CdtDbtInd>' \
        if batched else ""
    refs = f"<Refs><AcctSvcrRef>{m.ref}</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId></Refs>" if m.ref else \
        "<Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
    return f"""
          <TxDtls>{refs}{amount}
            <RltdPties><{party}>{name}</{party}>{account}</RltdPties>
            <RmtInf><Ustrd>{escape(m.label)}</Ustrd></RmtInf>
          </TxDtls>"""


def ofx_sgml(movements, decimal_comma: bool = True) -> bytes:
    """OFX 1.02 (SGML, no closing tags on leaves), as French banks export it."""
    rows = []
    for n, m in enumerate(movements, start=1):
        amount = f"{m.amount:.2f}".replace(".", "," if decimal_comma else ".")
        rows.append(f"""<STMTTRN>
<TRNTYPE>{"CREDIT" if m.amount > 0 else "DEBIT"}
<DTPOSTED>{m.booked_on:%Y%m%d}
<TRNAMT>{amount}
<FITID>{m.ref or f"FIT{n:05d}"}
<NAME>{escape(m.payer or m.label[:32])}
<MEMO>{escape(m.label)}
</STMTTRN>""")
    body = "\n".join(rows)
    start = min(m.booked_on for m in movements)
    end = max(m.booked_on for m in movements)
    return f"""OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII
CHARSET:1252
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<SIGNONMSGSRSV1>
<SONRS>
<STATUS>
<CODE>0
<SEVERITY>INFO
</STATUS>
<DTSERVER>20250930120000
<LANGUAGE>FRA
</SONRS>
</SIGNONMSGSRSV1>
<BANKMSGSRSV1>
<STMTTRNRS>
<TRNUID>1
<STATUS>
<CODE>0
<SEVERITY>INFO
</STATUS>
<STMTRS>
<CURDEF>EUR
<BANKACCTFROM>
<BANKID>30004
<BRANCHID>00003
<ACCTID>12345678901
<ACCTTYPE>CHECKING
</BANKACCTFROM>
<BANKTRANLIST>
<DTSTART>{start:%Y%m%d}
<DTEND>{end:%Y%m%d}
{body}
</BANKTRANLIST>
<LEDGERBAL>
<BALAMT>1000,00
<DTASOF>{end:%Y%m%d}
</LEDGERBAL>
</STMTRS>
</STMTTRNRS>
</BANKMSGSRSV1>
</OFX>
""".replace("\n", "\r\n").encode("ascii", "replace")


def ofx_xml(movements) -> bytes:
    """OFX 2.1 (XML, every element closed)."""
    rows = "".join(f"""<STMTTRN><TRNTYPE>{"CREDIT" if m.amount > 0 else "DEBIT"}</TRNTYPE>
<DTPOSTED>{m.booked_on:%Y%m%d}120000</DTPOSTED><TRNAMT>{m.amount:.2f}</TRNAMT><FITID>{m.ref or f"X{n:05d}"}</FITID>
<NAME>{escape(m.payer or m.label[:32])}</NAME><MEMO>{escape(m.label)}</MEMO></STMTTRN>
""" for n, m in enumerate(movements, start=1))
    start = min(m.booked_on for m in movements)
    end = max(m.booked_on for m in movements)
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<?OFX OFXHEADER="200" VERSION="211" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX><SIGNONMSGSRSV1><SONRS><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
<DTSERVER>20250930120000</DTSERVER><LANGUAGE>FRA</LANGUAGE></SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STATUS><CODE>0</CODE><SEVERITY>INFO</SEVERITY></STATUS>
<STMTRS><CURDEF>EUR</CURDEF><BANKACCTFROM><BANKID>30004</BANKID><BRANCHID>00003</BRANCHID>
<ACCTID>12345678901</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>
<BANKTRANLIST><DTSTART>{start:%Y%m%d}</DTSTART><DTEND>{end:%Y%m%d}</DTEND>
{rows}</BANKTRANLIST><LEDGERBAL><BALAMT>1000.00</BALAMT><DTASOF>{end:%Y%m%d}</DTASOF></LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
""".encode()


_POS, _NEG = "{ABCDEFGHI", "}JKLMNOPQR"


def cfonb_amount(amount: Decimal) -> str:
    cents = int(abs(amount) * 100)
    digits = f"{cents:014d}"
    last = (_POS if amount >= 0 else _NEG)[int(digits[-1])]
    return digits[:-1] + last


def cfonb120(movements, line_breaks: bool = True) -> bytes:
    bank, branch, account = "30004", "00003", "12345678901"

    def head(code: str, day: date, op: str = "    ") -> str:
        return f"{code}{bank}{op}{branch}EUR2 {account}"

    records = [(head("01", movements[0].booked_on) + "  " + f"{movements[0].booked_on:%d%m%y}").ljust(90)
               + cfonb_amount(Decimal("1000.00")) + " " * 16]
    for n, m in enumerate(movements, start=1):
        day = f"{m.booked_on:%d%m%y}"
        record = (head("04", m.booked_on, "0001") + "05" + day + "  " + day + m.label[:31].ljust(31) + "  "
                  + f"{n:07d}" + "  " + cfonb_amount(m.amount) + (m.ref or "").ljust(16)[:16])
        records.append(record)
        if m.payer:
            records.append((head("05", m.booked_on, "0001") + "05" + day + "     " + "NPY" + m.payer[:70].ljust(70)
                            ).ljust(120))
        if len(m.label) > 31:
            records.append((head("05", m.booked_on, "0001") + "05" + day + "     " + "LIB"
                            + m.label[31:101].ljust(70)).ljust(120))
    last = movements[-1].booked_on
    records.append((head("07", last) + "  " + f"{last:%d%m%y}").ljust(90) + cfonb_amount(Decimal("1000.00"))
                   + " " * 16)
    assert all(len(r) == 120 for r in records), [len(r) for r in records]
    return ("\r\n".join(records) + "\r\n" if line_breaks else "".join(records)).encode("latin-1")


def _fr(amount: Decimal) -> str:
    return f"{abs(amount):.2f}".replace(".", ",")


def csv_statement(movements, layout: str, encoding: str = "cp1252") -> bytes:
    """The CSV exports of the French banks, header lines included."""
    if layout == "la_banque_postale":
        head = ["Numéro Compte   ;0123456A020", "Type            ;CCP", "Compte tenu en  ;euros",
                "Date            ;30/09/2025", "Solde (EUROS)   ;1 000,00", "Solde (FRANCS)  ;6 559,57", "",
                "Date;Libellé;Montant(EUROS);Montant(FRANCS)"]
        rows = [f'{m.booked_on:%d/%m/%Y};"{m.label}";{"-" if m.amount < 0 else ""}{_fr(m.amount)};0,00'
                for m in movements]
    elif layout == "credit_agricole":
        head = ["Téléchargement du 30/09/2025;", "", "OCCE DE L'ISERE;", "Compte de Chèques;N° 12345678901",
                "Solde au 30/09/2025 1 000,00 €;", "", "Liste des opérations du compte entre le 01/09/2025 et le "
                "30/09/2025;", "", "Date;Libellé;Débit Euros;Crédit Euros;"]
        rows = [f'{m.booked_on:%d/%m/%Y};"{m.label}\n{m.payer}";{_fr(m.amount) if m.amount < 0 else ""};'
                f'{_fr(m.amount) if m.amount > 0 else ""};' for m in movements]
    elif layout == "caisse_epargne":
        head = ["Code de la banque : 11315;Code de l'agence : 00001;Date de début de téléchargement : 01/09/2025;"
                "Date de fin de téléchargement : 30/09/2025;;", "Numéro de compte : 12345678901;Nom du compte : "
                "OCCE;Devise : EUR;;;", "", "Date;Numéro d'opération;Libellé;Débit;Crédit;Détail;"]
        rows = [f'{m.booked_on:%d/%m/%y};{m.ref or n};{m.label};{"-" + _fr(m.amount) if m.amount < 0 else ""};'
                f'{"+" + _fr(m.amount) if m.amount > 0 else ""};{m.payer};' for n, m in enumerate(movements, 1)]
    elif layout == "credit_mutuel":
        head = ["Date;Date de valeur;Débit;Crédit;Libellé;Solde"]
        rows = [f'{m.booked_on:%d/%m/%Y};{m.booked_on:%d/%m/%Y};{"-" + _fr(m.amount) if m.amount < 0 else ""};'
                f'{_fr(m.amount) if m.amount > 0 else ""};{m.label};1000,00' for m in movements]
    elif layout == "plain":
        head = ["date;label;amount"]
        rows = [f"{m.booked_on.isoformat()};{m.label};" + f"{m.amount:.2f}".replace(".", ",") for m in movements]
    else:
        raise ValueError(layout)
    return ("\r\n".join(head + rows) + "\r\n").encode(encoding)


def camt053_direct_debit_return(booked_on: date, amount: Decimal, end_to_end_id: str, rum: str, reason: str,
                                sub_family: str = "UPDD") -> bytes:
    """A CAMT.053 (.08) holding one returned direct debit, as the creditor's bank books it:
    a debit coded PMNT/IDDT/UPDD (or PRDD), the collection's EndToEndId and MndtId, and the
    reason in RtrInf/Rsn/Cd."""
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="{ns}">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>STMT-RETURN</MsgId><CreDtTm>{booked_on.isoformat()}T18:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-R</Id>
      <CreDtTm>{booked_on.isoformat()}T18:00:00</CreDtTm>
      <Acct><Id><IBAN>{ACCOUNT_IBAN}</IBAN></Id><Ccy>EUR</Ccy></Acct>
      <Ntry>
        <Amt Ccy="EUR">{amount:.2f}</Amt>
        <CdtDbtInd>DBIT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>{booked_on.isoformat()}</Dt></BookgDt>
        <AcctSvcrRef>RET{end_to_end_id}</AcctSvcrRef>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>IDDT</Cd><SubFmlyCd>{sub_family}</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>{end_to_end_id}</EndToEndId><MndtId>{rum}</MndtId></Refs>
          <Amt Ccy="EUR">{amount:.2f}</Amt><CdtDbtInd>DBIT</CdtDbtInd>
          <RtrInf><Rsn><Cd>{reason}</Cd></Rsn></RtrInf>
        </TxDtls></NtryDtls>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
""".encode()
