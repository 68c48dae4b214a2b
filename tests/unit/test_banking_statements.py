"""Statement parsers on files the tests write (tests/statement_files.py), one per format:
pure functions from bytes to lines, no I/O."""
import io
from datetime import date
from decimal import Decimal

import pytest
from ofxtools.Parser import OFXTree

from banking.statements import StatementError, detect, fingerprints, read_statement
from banking.statements.cfonb120 import signed_amount
from tests.statement_files import (
    ACCOUNT_IBAN,
    Movement,
    camt053,
    cfonb120,
    cfonb_amount,
    csv_statement,
    ofx_sgml,
    ofx_xml,
)

D = Decimal
DAY = date(2025, 9, 12)
MOVEMENTS = [
    Movement(DAY, D("439.25"), "VIR SEPA ADHESION RF37260382296P00", "COOP SCOL JEAN MOULIN",
             "FR7612345000010000000000185", "BANKREF0001"),
    Movement(DAY, D("-12.50"), "FRAIS TENUE DE COMPTE"),
    Movement(date(2025, 9, 13), D("1157.11"), "MAIRIE DE VIENNE ECOLES Élémentaires", "MAIRIE DE VIENNE"),
]
EXPECTED = [(DAY, D("439.25")), (DAY, D("-12.50")), (date(2025, 9, 13), D("1157.11"))]


def amounts(statement):
    return [(line.booked_on, line.amount) for line in statement.lines]


@pytest.mark.parametrize("version", ["02", "04", "08", "13"])
def test_camt053_any_version_booked_entries(version):
    pending = Movement(DAY, D("99.00"), "PENDING", pending=True)
    statement = read_statement(camt053(MOVEMENTS + [pending], version=version))
    assert (statement.format, statement.account) == ("camt.053", ACCOUNT_IBAN)
    assert amounts(statement) == EXPECTED  # the pending entry is not read
    first = statement.lines[0]
    assert (first.payer, first.payer_iban, first.bank_ref) == (
        "COOP SCOL JEAN MOULIN", "FR7612345000010000000000185", "BANKREF0001")
    assert "RF37260382296P00" in first.label


def test_camt053_batched_entry_split_per_transaction():
    batch = [Movement(DAY, D("120.00"), "ECOLE A", "MAIRIE"), Movement(DAY, D("80.50"), "ECOLE B", "MAIRIE")]
    statement = read_statement(camt053(MOVEMENTS[:1], version="08", batches={0: batch}))
    assert amounts(statement) == [(DAY, D("439.25")), (DAY, D("120.00")), (DAY, D("80.50"))]
    assert statement.lines[1].bank_ref != statement.lines[2].bank_ref


def test_camt053_errors_name_the_line_or_element():
    with pytest.raises(StatementError) as error:
        read_statement(camt053(MOVEMENTS).replace(b"<Amt Ccy=\"EUR\">1157.11</Amt>", b"<Amt Ccy=\"EUR\">12,x</Amt>"))
    assert error.value.line and "12,x" in error.value.message
    text = camt053(MOVEMENTS).decode()
    assert "<Amt Ccy=\"EUR\">12,x" not in text
    broken = text.replace("<CdtDbtInd>DBIT</CdtDbtInd>", "", 1).encode()
    with pytest.raises(StatementError) as error:
        read_statement(broken)
    expected_line = text[:text.index("<CdtDbtInd>DBIT")].count("\n") + 1
    assert error.value.line is not None and error.value.line <= expected_line
    with pytest.raises(StatementError) as error:
        read_statement(camt053(MOVEMENTS)[:-40])
    assert error.value.line
    with pytest.raises(StatementError) as error:
        read_statement(camt053(MOVEMENTS).replace(b"camt.053.001.08", b"camt.053.001.zz"))


def test_ofx_sgml_with_decimal_comma_read_by_ofxtools_as_well():
    data = ofx_sgml(MOVEMENTS, decimal_comma=True)
    assert b"<TRNAMT>439,25" in data and b"<TRNAMT>1157,11" in data
    tree = OFXTree()  # the fixture is honest: ofxtools' strict models accept it
    tree.parse(io.BytesIO(data))
    assert [t.trnamt for t in tree.convert().statements[0].banktranlist] == [m.amount for m in MOVEMENTS]
    statement = read_statement(data)
    assert (statement.format, statement.account) == ("ofx", "30004 00003 12345678901")
    assert amounts(statement) == EXPECTED
    assert statement.lines[0].payer == "COOP SCOL JEAN MOULIN"


def test_ofx_xml_version_2():
    data = ofx_xml(MOVEMENTS)
    tree = OFXTree()
    tree.parse(io.BytesIO(data))
    assert len(tree.convert().statements[0].banktranlist) == 3
    assert amounts(read_statement(data)) == EXPECTED


def test_ofx_bad_amount_names_the_transaction():
    with pytest.raises(StatementError) as error:
        read_statement(ofx_sgml(MOVEMENTS).replace(b"<TRNAMT>-12,50", b"<TRNAMT>douze"))
    assert error.value.element == "STMTTRN n°2"


@pytest.mark.parametrize("line_breaks", [True, False])
def test_cfonb120_with_and_without_line_breaks(line_breaks):
    data = cfonb120(MOVEMENTS, line_breaks=line_breaks)
    assert (b"\n" in data) == line_breaks
    statement = read_statement(data)
    assert statement.format == "cfonb120"
    assert amounts(statement) == EXPECTED
    assert statement.lines[0].payer == "COOP SCOL JEAN MOULIN"  # from the 05 NPY record
    assert statement.lines[2].label.startswith("MAIRIE DE VIENNE ECOLES")
    assert "Élémentaires" in statement.lines[2].label  # latin-1, continued by a 05 LIB record


def test_cfonb_signed_amount_character():
    assert signed_amount("0000000004392E", 2) == D("439.25") and cfonb_amount(D("439.25")) == "0000000004392E"
    assert signed_amount("0000000000125}", 2) == D("-12.50")
    assert signed_amount("0000000000125J", 2) == D("-12.51")
    assert signed_amount("0000000000125{", 2) == D("12.50")
    assert signed_amount("0000000000125{", 0) == D("1250.00")
    with pytest.raises(StatementError):
        signed_amount("00000000012503", 2)


def test_cfonb_bad_record_names_its_line():
    lines = cfonb120(MOVEMENTS).decode("latin-1").split("\r\n")
    lines[3] = "09" + lines[3][2:]
    with pytest.raises(StatementError) as error:
        read_statement("\r\n".join(lines).encode("latin-1"))
    assert error.value.line == 4
    lines = cfonb120(MOVEMENTS).decode("latin-1").split("\r\n")
    lines[1] = lines[1][:40]
    with pytest.raises(StatementError) as error:
        read_statement("\r\n".join(lines).encode("latin-1"))
    assert error.value.line == 2 and "montant" in error.value.message
    trimmed = "\r\n".join(line.rstrip() for line in cfonb120(MOVEMENTS).decode("latin-1").split("\r\n"))
    assert amounts(read_statement(trimmed.encode("latin-1"))) == EXPECTED  # trailing spaces trimmed


@pytest.mark.parametrize("layout, encoding", [
    ("la_banque_postale", "cp1252"), ("credit_agricole", "cp1252"), ("caisse_epargne", "utf-8"),
    ("credit_mutuel", "cp1252"), ("plain", "utf-8"),
])
def test_csv_layouts(layout, encoding):
    statement = read_statement(csv_statement(MOVEMENTS, layout, encoding))
    assert (statement.format, statement.layout) == ("csv", layout)
    assert amounts(statement) == EXPECTED
    assert any("Élémentaires" in line.label for line in statement.lines)


def test_la_banque_postale_cp1252_with_its_header_lines():
    data = csv_statement(MOVEMENTS, "la_banque_postale", "cp1252")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert data.startswith("Numéro Compte".encode("cp1252"))
    statement = read_statement(data)
    assert statement.account == "0123456A020"
    assert statement.lines[2].label == "MAIRIE DE VIENNE ECOLES Élémentaires"


def test_csv_bad_amount_names_the_line_as_an_editor_counts():
    text = csv_statement(MOVEMENTS, "la_banque_postale", "utf-8").decode().replace("1157,11", "1157,1x")
    with pytest.raises(StatementError) as error:
        read_statement(text.encode())
    assert error.value.line == 11  # 7 header lines, a blank one, the table header, then the third row


def test_unknown_and_empty_files_are_refused():
    for data in (b"", b"   \n", b"hello;world\n1;2\n", b"<html><body>x</body></html>"):
        with pytest.raises(StatementError):
            read_statement(data)


def test_detected_from_content():
    assert detect(camt053(MOVEMENTS)) == "camt.053"
    assert detect(ofx_sgml(MOVEMENTS)) == "ofx" and detect(ofx_xml(MOVEMENTS)) == "ofx"
    assert detect(cfonb120(MOVEMENTS)) == detect(cfonb120(MOVEMENTS, line_breaks=False)) == "cfonb120"
    assert detect(csv_statement(MOVEMENTS, "plain")) == "csv"


def test_fingerprints_same_file_same_prints_identical_lines_of_a_day_stay_two():
    twice = MOVEMENTS + [Movement(DAY, D("-12.50"), "FRAIS TENUE DE COMPTE")]
    prints = read_statement(csv_statement(twice, "plain")).fingerprints
    assert len(set(prints)) == 4
    assert read_statement(csv_statement(twice, "plain")).fingerprints == prints
    # an overlapping file (the last two days only) gives the same prints for its lines
    overlap = read_statement(csv_statement(twice[2:], "plain")).fingerprints
    assert overlap[0] == prints[2]
    assert fingerprints([]) == []


def test_csv_columns_read_by_role_when_a_bank_renames_or_adds_some():
    text = ("Relevé du compte 12345678901;;;;\r\n\r\n"
            "Date d'opération;Date de valeur;Libellé;Montant;Solde;Catégorie\r\n"
            "12/09/2025;12/09/2025;VIR ECOLE JEAN MOULIN;+439,25;1 439,25;Virements reçus\r\n"
            "13/09/2025;13/09/2025;FRAIS;-4,10;1 435,15;Banque\r\n")
    statement = read_statement(text.encode("cp1252"))
    assert (statement.layout, statement.account) == ("bank", "12345678901")
    assert amounts(statement) == [(DAY, D("439.25")), (date(2025, 9, 13), D("-4.10"))]
    lbp = "Date;Libellé;Montant(EUROS)\r\n12/09/2025;VIR RECU;1 157,11\r\n".encode("cp1252")
    assert read_statement(lbp).layout == "la_banque_postale"
    assert read_statement(lbp).lines[0].amount == D("1157.11")


# One decimal reader for every format (docs/reconciliation.md#reading-the-files): a plain
# decimal, at most 12 digits before the point, whole cents; anything else refuses the file
# naming the line (or the OFX transaction), never an exception of the decimal module.
FORMATS = {
    "camt.053": lambda m: camt053(m, "08"), "ofx": ofx_sgml, "ofx2": ofx_xml,
    "cfonb120": cfonb120, "csv": lambda m: csv_statement(m, "plain", "utf-8"),
}
ODD_AMOUNTS = ["1E+50", "9" * 30 + ".00", "99999999999999999999.99", "1000000000000.00", "NaN", "Infinity",
               "１０.００", "١٠.٠٠", "12.345", "0x10", "1_000.00", " 12.00 12", "--1.00"]


ENCODING = {"camt.053": "utf-8", "ofx": "cp1252", "ofx2": "utf-8", "cfonb120": "latin-1", "csv": "utf-8"}


def _with_amount(fmt: str, text: str) -> bytes:
    """The file of MOVEMENTS with the first line's amount written as ``text``."""
    data = FORMATS[fmt](MOVEMENTS).decode(ENCODING[fmt])
    written = {"camt.053": ">439.25<", "ofx": ">439,25", "ofx2": ">439.25<", "csv": ";439,25"}[fmt]
    assert written in data
    marker = written[0] + text + (written[-1] if fmt in ("camt.053", "ofx2") else "")
    return data.replace(written, marker, 1).encode(ENCODING[fmt])


@pytest.mark.parametrize("fmt, text", [(fmt, text) for fmt in ("camt.053", "ofx", "ofx2", "csv")
                                       for text in ODD_AMOUNTS if fmt != "ofx" or text.isascii()])
def test_an_amount_that_is_not_a_plain_decimal_of_12_digits_refuses_the_file(fmt, text):
    with pytest.raises(StatementError) as error:
        read_statement(_with_amount(fmt, text))
    assert "montant" in error.value.message
    if fmt.startswith("ofx"):
        assert error.value.element == "STMTTRN n°1"
    else:
        assert error.value.line and f"ligne {error.value.line}" in error.value.message


@pytest.mark.parametrize("fmt", ["camt.053", "ofx", "ofx2", "csv"])
def test_twelve_digits_before_the_point_is_the_largest_amount_read(fmt):
    largest = {"ofx": "999999999999,99", "csv": "999999999999,99"}.get(fmt, "999999999999.99")
    assert read_statement(_with_amount(fmt, largest)).lines[0].amount == D("999999999999.99")
    assert read_statement(_with_amount(fmt, "+000000000000000439.25" if fmt != "camt.053" else "0000000439.25")
                          ).lines[0].amount == D("439.25")  # leading zeros are not digits of the amount


def test_camt053_amounts_are_unsigned():
    with pytest.raises(StatementError):
        read_statement(_with_amount("camt.053", "-439.25"))


def _cfonb_movement(change) -> bytes:
    lines = cfonb120(MOVEMENTS).decode("latin-1").split("\r\n")
    record = list(lines[1])
    change(record)
    lines[1] = "".join(record)
    return "\r\n".join(lines).encode("latin-1")


@pytest.mark.parametrize("column, char", [(19, "²"), (19, "³"), (19, "¹"), (95, "²"), (95, "³"), (95, "¹"),
                                          (90, "-"), (90, " ")])
def test_cfonb_amount_and_decimals_columns_take_ascii_digits_only(column, char):
    def change(record):
        record[column] = char
    with pytest.raises(StatementError) as error:
        read_statement(_cfonb_movement(change))
    assert error.value.line == 2


def test_cfonb_amount_with_more_than_12_digits_before_the_point_is_refused():
    def no_decimals(record):
        record[19] = "0"  # 14 digits, none after the point: 4 392 500 000 000 → 13 digits
        record[90:104] = "0439250000000E"
    with pytest.raises(StatementError) as error:
        read_statement(_cfonb_movement(no_decimals))
    assert error.value.line == 2 and "12 chiffres" in error.value.message

    def largest(record):
        record[19] = "0"
        record[90:104] = "0099999999999I"
    assert read_statement(_cfonb_movement(largest)).lines[0].amount == D("999999999999.00")
    assert signed_amount("0000000004390{", 3) == D("43.90")  # three decimals, whole cents
    with pytest.raises(StatementError):
        signed_amount("0000000004392E", 3)  # 43.925: not cents, never rounded


def test_csv_cell_over_the_csv_limit_names_its_line():
    head = "date;label;amount\r\n2025-09-12;VIR UN;10,00\r\n"
    data = (head + '2025-09-13;"' + "x" * 140_000 + '";10,00\r\n').encode()
    with pytest.raises(StatementError) as error:
        read_statement(data)
    assert error.value.line == 3 and "128 Ko" in error.value.message
    with pytest.raises(StatementError) as error:  # a quote never closed swallows the file
        read_statement((head + '2025-09-13;"VIR;10,00\r\n' + "2025-09-14;VIR;1,00\r\n" * 7000).encode())
    assert error.value.line == 3


CONTROLS = "VIR\x00ADHESION\x01\x1b RF37260382296P00\x7f\x85\x9fFIN"


@pytest.mark.parametrize("fmt", ["ofx", "ofx2", "cfonb120", "csv"])
def test_control_characters_in_labels_are_removed(fmt):
    # 0x85 and 0x9F are « … » and « Ÿ » in cp1252: controls only where the file is latin-1 or UTF-8
    label = CONTROLS if fmt != "ofx" else CONTROLS.replace("\x85\x9f", "\x1f")
    payer = "COOP\x00SCOL\x02\x85" if fmt != "ofx" else "COOP\x00SCOL\x02"
    statement = read_statement(FORMATS[fmt]([Movement(DAY, D("439.25"), label, payer if fmt != "csv" else "")]))
    assert len(statement.lines) == 1
    line = statement.lines[0]
    assert "VIR ADHESION RF37260382296P00 FIN" in line.label
    if fmt != "csv":
        assert line.payer == "COOP SCOL"
    text = line.label + line.payer + line.bank_ref + line.account
    assert not any(ord(c) < 32 or 0x7f <= ord(c) <= 0x9f for c in text), text


def test_camt053_control_characters_refused_by_xml_or_removed():
    raw = camt053([Movement(DAY, D("439.25"), "VIR ADHESION", "COOP")]).replace(b"VIR ADHESION", b"VIR\x00X")
    with pytest.raises(StatementError) as error:  # XML 1.0 has no NUL, nor most C0 controls
        read_statement(raw)
    assert error.value.line
    referenced = camt053([Movement(DAY, D("439.25"), "VIR ADHESION", "COOP")]).replace(
        b"VIR ADHESION", b"VIR&#x85;&#x9f;ADHESION&#x2028;RF37260382296P00")
    assert read_statement(referenced).lines[0].label == "VIR ADHESION RF37260382296P00"
