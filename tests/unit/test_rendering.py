"""PDF rendering of the attestation and the certificate (pure, no services)."""
import copy
import io
from datetime import date
from decimal import Decimal

import pytest
import qrcode
from pypdf import PdfReader
from qrcode.constants import ERROR_CORRECT_M

from services.documents.rendering import (
    french_date,
    insurance_period,
    render_attestation,
    render_certificate,
)

VERIFY_URL = "http://127.0.0.1:8000/verify/Xy3kP9qLmN0aBcDeFgHiJkLmNoPqRsTuVwXyZ012345"

# The guide's example: 10 teachers + 165 pupils, 395,50 € + 43,75 € = 439,25 €.
GUIDE_DOC = {
    "document_number": "ATT-2026-38-000123",
    "verify_url": VERIFY_URL,
    "department": {
        "code": "38",
        "name": "OCCE de l'Isère",
        "insurer": "MAE – MAIF",
        "insurer_contract": "CT-0042/38",
    },
    "cooperative": {
        "number": "0382296P00",
        "name": "Coopérative Scolaire de l'École Élémentaire Jean Moulin",
        "town": "VIENNE",
    },
    "year": "2025-2026",
    "registration_code": "26/0001 A",
    "totals": {"teachers": 10, "students": 165, "cooperators": 175},
    "amounts": {
        "membership": Decimal("395.50"),
        "insurance": Decimal("43.75"),
        "goods": Decimal("0.00"),
        "instruments": Decimal("0.00"),
        "total": Decimal("439.25"),
    },
    "goods_value": Decimal("1500.00"),
    "instruments_value": Decimal("0.00"),
    "version": 1,
    "issued_on": date(2026, 11, 28),
}

RENDERERS = pytest.mark.parametrize(
    "render", [render_attestation, render_certificate], ids=["attestation", "certificate"]
)


def make_doc(**changes):
    doc = copy.deepcopy(GUIDE_DOC)
    for key, value in changes.items():
        if isinstance(value, dict):
            doc[key].update(value)
        else:
            doc[key] = value
    return doc


def read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(pdf))


def text_of(pdf: bytes) -> str:
    # Lines wrap wherever the layout breaks them: compare on single spaces.
    return " ".join(read(pdf).pages[0].extract_text().split())


@RENDERERS
def test_one_a4_portrait_page(render):
    reader = read(render(GUIDE_DOC))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert float(box.width) == pytest.approx(595.28, abs=1)
    assert float(box.height) == pytest.approx(841.89, abs=1)


@RENDERERS
def test_common_fields(render):
    text = text_of(render(GUIDE_DOC))
    for expected in (
        "OCCE de l'Isère – Office Central de la Coopération à l'École",
        "Coopérative Scolaire de l'École Élémentaire Jean Moulin",
        "0382296P00",
        "VIENNE",
        "Année scolaire 2025-2026",
        "26/0001 A",
        "175",
        "ATT-2026-38-000123",
        "Fait le 28 novembre 2026",
        VERIFY_URL,
    ):
        assert expected in text, expected
    assert "Version" not in text


def test_attestation_content():
    text = text_of(render_attestation(GUIDE_DOC))
    assert "Attestation d'adhésion" in text
    assert (
        "L'OCCE 38 atteste que la Coopérative Scolaire de l'École Élémentaire Jean Moulin"
        " (0382296P00), à VIENNE, est adhérente de l'OCCE 38 pour l'année scolaire 2025 - 2026."
    ) in text
    for expected in (
        "Nombre d'enseignants 10",
        "Nombre d'élèves 165",
        "Nombre de coopérateurs 175",
        "Adhésion 395,50 €",
        "Assurance 43,75 €",
        "Biens 0,00 €",
        "Instruments de musique 0,00 €",
        "Total 439,25 €",
    ):
        assert expected in text, expected


def test_name_without_the_prefix_gets_it_once():
    text = text_of(render_attestation(make_doc(cooperative={"name": "École des Tilleuls"})))
    assert "la Coopérative Scolaire École des Tilleuls (0382296P00)" in text
    assert "Coopérative Scolaire Coopérative" not in text_of(render_attestation(GUIDE_DOC))


def test_amounts_in_french_format():
    amounts = dict(GUIDE_DOC["amounts"], membership=Decimal("1113.36"), total=Decimal("1157.11"))
    text = text_of(render_attestation(make_doc(amounts=amounts)))
    assert "Total 1 157,11 €" in text
    assert "Adhésion 1 113,36 €" in text


def test_certificate_content():
    text = text_of(render_certificate(make_doc(document_number="CERT-2026-38-000123")))
    for expected in (
        "Certificat d'assurance",
        "du 1er septembre 2025 au 31 août 2026",
        "Assureur MAE – MAIF",
        "Numéro de contrat CT-0042/38",
        "Nombre de coopérateurs assurés 175",
        "Valeur déclarée des biens 1 500,00 €",
        "Valeur déclarée des instruments de musique 0,00 €",
        "Assurance 43,75 €",
        "Total des cotisations d'assurance 43,75 €",
        "CERT-2026-38-000123",
    ):
        assert expected in text, expected


def test_certificate_without_contract_number_has_no_contract_line():
    text = text_of(render_certificate(make_doc(department={"insurer_contract": ""})))
    assert "contrat CT-" not in text
    assert "Numéro de contrat" not in text
    assert "MAE – MAIF" in text


@RENDERERS
def test_values_are_escaped(render):
    name = "École <b>& Cie</b> &amp; {{ 7*7 }}"
    text = text_of(render(make_doc(cooperative={"name": name, "town": "L'ÎLE-D'ABEAU <i>"})))
    assert name in text
    assert "L'ÎLE-D'ABEAU <i>" in text


@RENDERERS
def test_long_values_stay_on_one_page(render):
    long_name = "Coopérative Scolaire " + "de l'École Maternelle et Élémentaire des Trois Vallées " * 3
    doc = make_doc(version=3, cooperative={"name": long_name, "town": "SAINT-MARTIN-D'HÈRES " * 3})
    assert len(read(render(doc)).pages) == 1


@RENDERERS
def test_new_version_says_it_replaces_the_previous_one(render):
    text = text_of(render(make_doc(version=2)))
    assert "Version 2 – remplace la version précédente" in text


@RENDERERS
def test_qr_code_encodes_the_verify_url(render):
    images = read(render(GUIDE_DOC)).pages[0].images
    assert len(images) == 1
    picture = images[0].image.convert("L")
    # Same settings as the renderer, so each module can be sampled at its centre.
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=2, mask_pattern=0)  # as rendering.py
    qr.add_data(VERIFY_URL)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    assert picture.width == picture.height
    module = picture.width / len(matrix)
    assert module == int(module)
    for row, cells in enumerate(matrix):
        for col, dark in enumerate(cells):
            pixel = picture.getpixel((int((col + 0.5) * module), int((row + 0.5) * module)))
            assert (pixel < 128) == dark, (row, col)


@RENDERERS
def test_style_sheets_parsed_once_give_the_same_pdf(render, monkeypatch):
    """The sheets a process keeps parsed (shared.pdf._Context) draw exactly what a fresh
    parse draws: the same bytes (the documents are drawn invariant)."""
    from shared.pdf import _Context

    monkeypatch.setattr(_Context, "_sheets", {})
    fresh = render(GUIDE_DOC)
    assert len(_Context._sheets) == 2  # xhtml2pdf's default sheet and the documents' rules; not @page
    assert render(GUIDE_DOC) == fresh
    monkeypatch.setattr(_Context, "MAX_SHEETS", 0)  # nothing kept: every sheet parsed again
    monkeypatch.setattr(_Context, "_sheets", {})
    assert render(GUIDE_DOC) == fresh


def test_french_date():
    assert french_date(date(2026, 11, 28)) == "28 novembre 2026"
    assert french_date(date(2025, 8, 1)) == "1er août 2025"
    assert french_date(date(2026, 2, 14)) == "14 février 2026"
    assert french_date(date(2026, 12, 31)) == "31 décembre 2026"


def test_insurance_period():
    assert insurance_period("2025-2026") == "du 1er septembre 2025 au 31 août 2026"
    assert insurance_period("2025-2026", date(2025, 10, 14)) == "du 14 octobre 2025 au 31 août 2026"
    assert insurance_period("2030-2031") == "du 1er septembre 2030 au 31 août 2031"
    for bad in ("2025-2027", "2025/2026", "25-26", ""):
        with pytest.raises(ValueError):
            insurance_period(bad)


@RENDERERS
def test_department_identity_on_one_page(render):
    doc = make_doc(version=2, department={"address": "12 rue des Écoles, 38000 Grenoble", "phone": "04 76 00 00 00",
                                          "email": "contact@occe38.example"},
                   cooperative={"name": "Coopérative Scolaire " + "des Trois Vallées " * 6})
    pdf = render(doc)
    assert len(read(pdf).pages) == 1
    text = text_of(pdf)
    for part in ("OCCE de l'Isère", "12 rue des Écoles, 38000 Grenoble", "04 76 00 00 00", "contact@occe38.example"):
        assert part in text


def test_certificate_covers_from_the_payment_received_after_1_september():
    text = text_of(render_certificate(make_doc(cover_from=date(2025, 10, 14))))
    assert "du 14 octobre 2025 au 31 août 2026" in text
    assert "1er septembre 2025" not in text


@pytest.mark.parametrize("render", [render_attestation, render_certificate])
def test_the_same_data_draws_the_same_bytes(render):
    """Two renderings of one validation agree to the byte (the second guard against two
    deliveries at once), and the file's dates are the day printed on it."""
    first, second = render(GUIDE_DOC), render(GUIDE_DOC)
    assert first == second
    assert b"D:20261128000000" in first
