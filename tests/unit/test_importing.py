"""The cooperatives' CSV file read without I/O: separators, encodings, line numbers."""
import pytest

from contracts import adhesion as contracts
from services.adhesion import importing
from services.adhesion.schemas import iban_ok
from services.notify import domain
from services.notify.mail import compose
from shared.sealed import open_sealed

HEADER = "number;name;town;email"


def test_semicolon_cp1252_with_accents():
    body = f"{HEADER}\r\n0382296P00;École Jean Moulin;Saint-Égrève;ce.0382296p@ac-grenoble.fr\r\n".encode("cp1252")
    rows, problems = importing.parse(body)
    assert problems == []
    assert rows == [importing.Row(2, "0382296P00", "École Jean Moulin", "Saint-Égrève", "ce.0382296p@ac-grenoble.fr")]


def test_a_file_of_utf8_and_cp1252_lines_reads_right_on_every_line():
    """Lines pasted together from an Excel file (cp1252) and a UTF-8 one: each read in its
    own encoding, the lines counted as an editor shows them."""
    utf8 = "\ufeff" + HEADER + "\r\n0382296P00;École Jean Moulin;Saint-Égrève;ce.0382296p@ac-grenoble.fr\r\n"
    cp1252 = "0381234A00;Coopérative « Les Prés »;Crémieu;ce.0381234a@ac-grenoble.fr\r\n"
    again = "0385678B00;École Françoise Dolto;Échirolles;bad address\r\n"
    rows, problems = importing.parse(utf8.encode() + cp1252.encode("cp1252") + again.encode())
    assert [(row.line, row.name, row.town) for row in rows] == [
        (2, "École Jean Moulin", "Saint-Égrève"), (3, "Coopérative « Les Prés »", "Crémieu")]
    assert [(problem.line, problem.field) for problem in problems] == [(4, "email")]
    assert importing.parse(HEADER.encode() + b"\r\n0381234A00;\x81;VIENNE;a@b.fr\r\n")[1][0].field == "file"


def test_comma_utf8_with_bom_quotes_and_columns_in_any_order():
    body = ('\ufeffemail,number,name,town\n'
            'a@b.fr,0382296p00,"Coopérative ""Les Pré-Verts"", école",Vienne\n\n').encode("utf-8")
    rows, problems = importing.parse(body)
    assert problems == []
    assert (rows[0].number, rows[0].name, rows[0].town) == ("0382296P00", 'Coopérative "Les Pré-Verts", école', "Vienne")


def test_every_error_by_line_and_field():
    body = (f"{HEADER}\n0382296P00;A;B;a@b.fr\n\n0382-96;;B;pas-une-adresse\n0382296P00;C;D;c@d.fr\n"
            "0382297P00;E;F\n").encode()
    rows, problems = importing.parse(body)
    assert {(p.line, p.field) for p in problems} == {(4, "number"), (4, "name"), (4, "email"), (5, "number"), (6, "line")}
    assert [r.line for r in rows] == [2]


@pytest.mark.parametrize("breaker", ["\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\t", "\x1f", "\x9b"])
def test_a_name_or_town_is_one_line_with_its_line_named(breaker):
    """A line break inside a quoted cell (or a separator U+2028) is refused, the line
    named as an editor shows it: the cooperative's confirmation email would die on it."""
    body = (f'{HEADER}\n0382296P00;"École{breaker}Jean Moulin";Vienne;a@b.fr\n'
            f'0382297P00;Les Pins;"Saint{breaker}Égrève";c@d.fr\n0382298P00;Les Chênes;Voiron;e@f.fr\n').encode()
    rows, problems = importing.parse(body)
    assert [(p.line, p.field) for p in problems] == [(2, "name"), (3 + breaker.count("\n") + (breaker == "\r"), "town")]
    assert all(p.message.startswith("Une seule ligne") for p in problems)
    assert [r.number for r in rows] == ["0382298P00"]


def test_header_and_limits():
    assert importing.parse(b"numero;nom\n")[1][0].field == "header"
    with pytest.raises(importing.TooLarge):
        importing.parse((HEADER + "\n" + "0382296P00;A;B;a@b.fr\n" * 5001).encode())
    with pytest.raises(importing.TooLarge):
        importing.parse(b"x" * (2 * 1024 * 1024 + 1))


def test_iban_check_digits():
    assert iban_ok("FR7630006000011234567890189")
    assert not iban_ok("FR7630006000011234567890188")


def opened(context: dict) -> dict:
    """The email's context as notify composes it: the contract example's link sealed with "example"."""
    rest = {key: value for key, value in context.items() if key != "sealed_link"}
    return {**rest, "url": open_sealed(context["sealed_link"], "example")}


@pytest.mark.parametrize("contract", [contracts.INVITED, contracts.PASSWORD_RESET_REQUESTED])
def test_link_emails_are_keyed_per_link_and_composed_in_french(contract):
    data = contract.build(contract.example).data
    wanted = domain.email_for(contract.name, data)
    assert wanted.to == "ce.0382296p@ac-grenoble.fr" and wanted.key.endswith(":n1")
    assert domain.email_for(contract.name, {**data, "sequence": 2}).key != wanted.key
    message = compose(wanted.kind, wanted.to, opened(wanted.context), wanted.message_id, "Retkoop <r@occe.local>")
    text = message.get_body(("plain",)).get_content()
    assert "http://127.0.0.1:8000/invitation/q8Zs0yHn3m6Vb1Kx" in text  # opened with the example's key
    if contract is contracts.INVITED:
        assert message["Subject"] == "Votre accès à l'adhésion OCCE" and "14 jours" in text


def test_a_staff_members_reset_link_has_no_cooperative():
    data = {**contracts.PASSWORD_RESET_REQUESTED.example, "login": "marie.dupont", "to": "marie@occe26.fr",
            "cooperative": None, "reason": "requested"}
    wanted = domain.email_for("password_reset.requested", contracts.PASSWORD_RESET_REQUESTED.build(data).data)
    message = compose(wanted.kind, wanted.to, opened(wanted.context), wanted.message_id, "Retkoop <r@occe.local>")
    assert "marie.dupont" in message.get_body(("plain",)).get_content() and wanted.cooperative == ""


def test_a_cell_the_csv_reader_cannot_hold_names_its_line():
    body = f"{HEADER}\r\n0382296P00;École;VIENNE;a@b.fr\r\n0381234A00;{'x' * 200_000};VIENNE;a@b.fr\r\n".encode()
    rows, problems = importing.parse(body)
    assert [row.line for row in rows] == [2] and [(p.line, p.field) for p in problems] == [(3, "line")]
