"""PDF rendering of the attestation d'adhésion and the certificat d'assurance.

Pure functions: plain data in, PDF bytes out (no Flask, database or broker).
"""
import base64
import io
import re
from datetime import date
from pathlib import Path

import qrcode
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from PIL import Image
from qrcode.constants import ERROR_CORRECT_M

from shared import pdf
from shared.money import format_eur, to_cents
from shared.names import cooperative_label

ASSOCIATION_SUFFIX = "Office Central de la Coopération à l'École"

# Written out rather than taken from the locale: worker images rarely have fr_FR.
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet",
    "août", "septembre", "octobre", "novembre", "décembre",
)


# Direction marks and overrides would let a name reverse or hide the text after it.
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
LONGEST_WORD = 24  # 24 of the widest letter (W) fit the narrowest cell that holds a name
_LONG_WORD = re.compile(rf"\S{{{LONGEST_WORD + 1},}}")


def printable(text: str) -> str:
    """Typed text as it may be printed: no bidi controls, and a word longer than a table
    cell broken every LONGEST_WORD characters (the PDF engine wraps at spaces only)."""
    text = str(text).translate(_BIDI_CONTROLS)
    return _LONG_WORD.sub(
        lambda m: " ".join(m.group()[i:i + LONGEST_WORD] for i in range(0, len(m.group()), LONGEST_WORD)), text)


def _printable_all(value):
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {key: _printable_all(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_printable_all(item) for item in value]
    return value


_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,  # cooperative names are typed by schools
    undefined=StrictUndefined,  # a missing field fails loudly instead of printing blank
)
# Compiled once at import: hundreds of documents are rendered each September.
_TEMPLATES = {
    "attestation": _env.get_template("attestation.html"),
    "certificate": _env.get_template("certificate.html"),
}


_YEAR = re.compile(r"^([0-9]{4})-([0-9]{4})\Z")


def french_date(day: date) -> str:
    """``28 novembre 2026``; the first of the month is written ``1er``."""
    number = "1er" if day.day == 1 else str(day.day)
    return f"{number} {MONTHS[day.month - 1]} {day.year}"


def insurance_period(year: str, start: date | None = None) -> str:
    """``2025-2026`` -> ``du 1er septembre 2025 au 31 août 2026``; from ``start`` when the
    payment came after 1 September."""
    first, second = _split_year(year)
    return f"du {french_date(start or date(first, 9, 1))} au 31 août {second}"


def _split_year(year: str) -> tuple[int, int]:
    match = _YEAR.match(year)
    if not match or int(match[2]) != int(match[1]) + 1:
        raise ValueError(f"school year must look like 2025-2026, got {year!r}")
    return int(match[1]), int(match[2])


QR_BOX = 4  # pixels a module


def qr_data_uri(text: str) -> str:
    # A fixed mask is as valid as the "best" one and skips scoring all eight (~4 ms a code).
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=QR_BOX, border=2, mask_pattern=0)
    qr.add_data(text)
    qr.make(fit=True)
    # The same pixels as qrcode's own image, drawn from the module matrix in one go
    # rather than a rectangle per module; 8-bit grey, which the PDF embeds as one byte
    # a pixel where a 1-bit image became three (RGB).
    modules = qr.get_matrix()  # border included
    size = len(modules)
    image = Image.frombytes("L", (size, size), bytes(0 if dark else 255 for row in modules for dark in row))
    image = image.resize((size * QR_BOX, size * QR_BOX), Image.NEAREST)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _context(doc: dict, title: str) -> dict:
    first, second = _split_year(doc["year"])
    # to_cents, not Decimal(): it refuses floats, which have no place in money.
    amounts = {key: to_cents(doc["amounts"][key]) for key in
               ("membership", "insurance", "goods", "instruments", "total")}
    insurance_total = amounts["insurance"] + amounts["goods"] + amounts["instruments"]
    version = int(doc.get("version", 1))
    return {
        "title": title,
        "document_number": doc["document_number"],
        "verify_url": doc["verify_url"],
        "qr": qr_data_uri(doc["verify_url"]),
        "department": {
            "name": printable(doc["department"]["name"]),
            "insurer": printable(doc["department"].get("insurer", "")),
            "insurer_contract": printable(doc["department"].get("insurer_contract") or ""),
            # the association's identity under its name (settings; empty until filled in)
            "contact": printable(" – ".join(part for part in (
                doc["department"].get("address"), doc["department"].get("phone"), doc["department"].get("email"))
                if part)),
        },
        "occe": f"OCCE {doc['department']['code']}",
        "coop": _printable_all(doc["cooperative"]),
        "coop_label": printable(cooperative_label(doc["cooperative"]["name"])),
        "year": doc["year"],
        # The guide writes the year with spaced hyphen in running text.
        "year_spaced": f"{first} - {second}",
        "period": insurance_period(doc["year"], doc.get("cover_from")),
        "registration_code": doc["registration_code"],
        "totals": doc["totals"],
        "amounts": {**{k: format_eur(v) for k, v in amounts.items()},
                    "insurance_total": format_eur(insurance_total)},
        "goods_value": format_eur(to_cents(doc.get("goods_value", 0))),
        "instruments_value": format_eur(to_cents(doc.get("instruments_value", 0))),
        "version": version,
        "issued_on": french_date(doc["issued_on"]),
    }


def _render(kind: str, context: dict, day: date) -> bytes:
    """Invariant: two drawings of one validation agree to the byte."""
    return pdf.draw(_TEMPLATES[kind].render(context), f"the {kind}", day)


def render_attestation(doc: dict) -> bytes:
    """PDF of the attestation d'adhésion."""
    return _render("attestation", _context(doc, "Attestation d'adhésion"), doc["issued_on"])


def render_certificate(doc: dict) -> bytes:
    """PDF of the certificat d'assurance."""
    return _render("certificate", _context(doc, "Certificat d'assurance"), doc["issued_on"])
