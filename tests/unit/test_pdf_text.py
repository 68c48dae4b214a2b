"""Names beyond Latin-1 print with their letters, a right-to-left override changes nothing,
a very long word stays on the page (issue 13, finding 9): read back with pypdf and drawn
with poppler's pdftoppm."""
import io
import re
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.pdfbase import pdfmetrics

from services.documents.rendering import printable, render_attestation, render_certificate
from shared.pdf import FONT
from tests.unit.test_rendering import make_doc

NAMES = ("Łukasz Żółć", "Ayşe Yılmaz", "Ελένη")
RENDERERS = pytest.mark.parametrize("render", [render_attestation, render_certificate], ids=["attestation", "certificate"])


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def fonts_of(pdf: bytes) -> dict[str, bool]:
    """Each font that draws visible text, and whether its program is embedded in the PDF
    (xhtml2pdf also names Helvetica for empty fragments, which draw nothing)."""
    fonts = {}

    def visit(text, cm, tm, font, size):
        if text.strip() and font is not None:
            if "/DescendantFonts" in font:
                descendant = font["/DescendantFonts"][0].get_object()
            else:
                descendant = font
            descriptor = descendant.get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            fonts[str(font["/BaseFont"])] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))

    for page in PdfReader(io.BytesIO(pdf)).pages:
        page.extract_text(visitor_text=visit)
    return fonts


@RENDERERS
def test_names_beyond_latin_1_are_printed_with_their_letters(render, tmp_path):
    name = "Coopérative Scolaire " + " ".join(NAMES)
    pdf = render(make_doc(cooperative={"name": name, "town": "Ελένη"}))
    text = text_of(pdf)
    for person in NAMES:
        assert person in text
    # Each letter has a glyph in the embedded font: a missing one would draw .notdef (■)
    # while pypdf still read the right letter back from the ToUnicode map.
    face = pdfmetrics.getFont(FONT).face
    assert [ch for ch in "".join(NAMES) if not ch.isspace() and ord(ch) not in face.charToGlyph] == []
    fonts = fonts_of(pdf)
    assert fonts and all(embedded for embedded in fonts.values()), fonts
    assert all(FONT in font for font in fonts), fonts  # no Helvetica: it has no ł, ş, ε

    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    # pdftoppm draws the page as a reader would, from the embedded font alone.
    drawn = subprocess.run(["pdftoppm", "-r", "50", "-png", str(path), str(tmp_path / "page")],
                           capture_output=True, text=True, timeout=60)
    assert drawn.returncode == 0 and "glyph" not in drawn.stderr.lower() and "font" not in drawn.stderr.lower(), drawn.stderr
    assert (tmp_path / "page-1.png").stat().st_size > 5000


def test_bidi_controls_are_stripped_and_long_words_wrapped():
    assert printable("Jean\u202eniluoM\u202c") == "JeanniluoM"
    assert printable("\u2066a\u2069\u200f") == "a"
    assert all(len(word) <= 24 for word in printable("x" * 200).split())
    assert printable("École Élémentaire Jean Moulin") == "École Élémentaire Jean Moulin"


@RENDERERS
def test_overrides_do_not_reverse_and_a_200_character_word_stays_on_the_page(render, tmp_path):
    word = "W" * 200
    pdf = render(make_doc(cooperative={"name": f"Jean \u202eniluoM\u202c {word}", "town": "VIENNE"}))
    text = text_of(pdf)
    assert "\u202e" not in text and "niluoM" in text
    assert re.sub(r"\s", "", text).count(word) == 1  # every W printed, in order, across lines
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    width = float(page.mediabox.width)
    positions = []
    page.extract_text(visitor_text=lambda t, cm, tm, *_: positions.append((t, tm[4] + cm[4])) if "WWW" in t else None)
    assert positions and all(x < width for _, x in positions)
    # Drawn, the right margin stays white where the word used to run off the page.
    path = tmp_path / "long.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "30", "-gray", "-f", "1", "-l", "1", str(path), str(tmp_path / "p")],
                   check=True, timeout=60)
    image = next(Path(tmp_path).glob("p-*.pgm")).read_bytes()
    header, pixels = _pgm(image)
    columns, rows = header
    margin = range(columns - int(columns * 0.06), columns)  # the last 6 % of the width (1.8 cm margin is 8.6 %)
    assert all(pixels[row * columns + col] > 200 for row in range(rows) for col in margin)


def _pgm(data: bytes):
    """Width, height and grey bytes of a binary PGM (P5) as pdftoppm -gray writes it."""
    parts = data.split(maxsplit=4)
    assert parts[0] == b"P5"
    columns, rows = int(parts[1]), int(parts[2])
    return (columns, rows), parts[4][-columns * rows:]
