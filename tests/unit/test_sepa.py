"""SEPA direct debit without I/O (docs/sepa.md): the checks of banking/sepa.py, the
pain.008 files against the ISO 20022 schemas, a CAMT.053 return as a statement line, and
the collection rules."""
from datetime import date, datetime
from decimal import Decimal

import pytest
from lxml import etree

from banking import pain008, sepa
from banking.statements import read_statement
from services.payment import sepa_rules
from tests.statement_files import Movement, camt053, camt053_direct_debit_return

ADDRESS = pain008.Address("12 rue de l'École", "38000", "Grenoble", "FR")
CREDITOR = pain008.Creditor("OCCE de l'Isère", "FR72ZZZ123456", "FR7630006000011234567890189", "AGRIFRPP", ADDRESS)
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.08"}


def debit(n: int, amount: str = "439.25", original_iban: str = "", bic: str = "") -> pain008.Debit:
    return pain008.Debit(f"RF3726038229{n:02d}P00", Decimal(amount), f"RKP-38-03822{n:02d}P00-001", date(2025, 9, 1),
                         "Coopérative de l'école Jean Moulin", "FR7630001007941234567890185", bic, ADDRESS,
                         "Adhésion OCCE 2025-2026", original_iban)


def test_ics_iban_bic_checked_with_the_field_named():
    assert sepa.check_ics("fr72 zzz 123456") == "FR72ZZZ123456"
    with pytest.raises(sepa.SepaError) as refused:
        sepa.check_ics("FR73ZZZ123456")
    assert refused.value.field == "ics"
    assert sepa.check_iban("FR76 3000 6000 0112 3456 7890 189") == "FR7630006000011234567890189"
    with pytest.raises(sepa.SepaError) as refused:
        sepa.check_iban("FR76 3000 6000 0112 3456 7890 188", "iban")
    assert refused.value.field == "iban"
    assert sepa.check_bic("") == "" and sepa.check_bic("AGRIFRPP") == "AGRIFRPP"
    with pytest.raises(sepa.SepaError):
        sepa.check_bic("AGRI")


def test_rum_is_at_most_35_allowed_characters_and_distinct():
    rums = {sepa.make_rum(department, number, n) for department in ("38", "2A", "974")
            for number in ("0382296P00", "9740001ABCDEFGHI") for n in (1, 2, 999)}
    assert len(rums) == 18
    assert all(sepa.is_rum(r) and len(r) <= 35 for r in rums)
    assert not sepa.is_rum("RKP/38") and not sepa.is_rum("x" * 36)


def test_return_reasons_in_french():
    assert sepa.reason_text("AM04") == "Provision insuffisante"
    assert sepa.reason_text("ac04") == "Compte clôturé"
    assert sepa.reason_text("MD06") == "Remboursement demandé par le débiteur"
    assert sepa.reason_text("ZZ99") == "Motif bancaire ZZ99"


@pytest.mark.parametrize("version", ["08", "02"])
def test_pain008_valid_against_the_iso_schema(version):
    data = pain008.build("RKP-38-20251015", datetime(2025, 9, 20, 10, 0), date(2025, 10, 15), CREDITOR,
                         [debit(1), debit(2, "12.10", original_iban="FR7610107001011234567890129", bic="CMCIFRPP")],
                         version)
    pain008.check(data, version)
    root = etree.fromstring(data)
    ns = {"p": f"urn:iso:std:iso:20022:tech:xsd:pain.008.001.{version}"}
    assert len(root.findall(".//p:PmtInf", ns)) == 1
    assert root.findtext(".//p:SeqTp", namespaces=ns) == "RCUR"
    assert root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns) == "451.35"
    amended = root.findall(".//p:DrctDbtTxInf", ns)[1]
    assert amended.findtext(".//p:AmdmntInd", namespaces=ns) == "true"
    assert amended.findtext(".//p:OrgnlDbtrAcct/p:Id/p:IBAN", namespaces=ns) == "FR7610107001011234567890129"
    # names carry no accent the banks' Latin set would refuse
    assert root.findtext(".//p:Cdtr/p:Nm", namespaces=ns) == "OCCE de l'Isere"
    assert root.findtext(".//p:Cdtr/p:PstlAdr/p:TwnNm", namespaces=ns) == "Grenoble"


@pytest.mark.parametrize("amount", ["0.00", "-5.00", "1.005"])
def test_no_zero_negative_or_fractional_line(amount):
    with pytest.raises(pain008.Pain008Error):
        pain008.build("M", datetime(2025, 9, 20), date(2025, 10, 15), CREDITOR, [debit(1), debit(2, amount)])


def test_a_file_the_schema_refuses_is_never_offered():
    bad = pain008.Creditor("OCCE", "FR72ZZZ123456", "NOT AN IBAN", "", ADDRESS)
    with pytest.raises(pain008.Pain008Error, match="schéma"):
        pain008.build("M", datetime(2025, 9, 20), date(2025, 10, 15), bad, [debit(1)])


def test_camt053_return_carries_code_reason_and_references():
    data = camt053_direct_debit_return(date(2025, 10, 18), Decimal("439.25"), "RF37260382296P00",
                                       "RKP-38-0382296P00-001", "AM04")
    line, = read_statement(data).lines
    assert line.amount == Decimal("-439.25")
    assert (line.bank_tx_code, line.return_reason) == ("PMNT/IDDT/UPDD", "AM04")
    assert (line.end_to_end_id, line.mandate_id) == ("RF37260382296P00", "RKP-38-0382296P00-001")
    assert sepa_rules.is_return(line.bank_tx_code, line.return_reason)
    # an ordinary transfer is not a return, and its fingerprint is what it was before
    plain, = read_statement(camt053([Movement(date(2025, 10, 1), Decimal("10.00"), "VIR")])).lines
    assert not sepa_rules.is_return(plain.bank_tx_code, plain.return_reason)
    assert plain.bank_tx_code == "PMNT/RCDT/ESCT" and plain.end_to_end_id == ""


def test_collection_date_at_least_notice_days_ahead():
    dates = [date(2025, 10, 1), date(2025, 10, 15), date(2025, 11, 15)]
    assert sepa_rules.collection_date_for(dates, date(2025, 9, 17), 14) == date(2025, 10, 1)
    assert sepa_rules.collection_date_for(dates, date(2025, 9, 18), 14) == date(2025, 10, 15)
    assert sepa_rules.collection_date_for(dates, date(2025, 11, 2), 14) is None
    assert not sepa_rules.collectable(Decimal("0.00"))


def test_mandate_expires_after_36_months_unused():
    assert not sepa_rules.expired(date(2022, 10, 15), date(2025, 10, 14))
    assert sepa_rules.expired(date(2022, 10, 15), date(2025, 10, 15))
    assert sepa_rules.add_months(date(2023, 1, 31), 37) == date(2026, 2, 28)


def test_bench_size_batch_builds_and_validates():
    debits = [debit(n % 100) for n in range(500)]
    data = pain008.build("RKP-38-20251015", datetime(2025, 9, 20), date(2025, 10, 15), CREDITOR, debits)
    assert data.count(b"<DrctDbtTxInf>") == 500
