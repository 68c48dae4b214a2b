"""The engagement du mandataire, pre-filled as a one-page PDF (shared.pdf, as the documents
service draws its own): the school prints it, dates it, signs it and sends it."""
from flask import render_template

from web.formatting import eur, year_label
from web.pages import coop_heading


def filename(number: str, year: str) -> str:
    """The name the browser saves, the same in the page's link and the download."""
    return f"engagement-mandataire-{number}-{year}.pdf"


def render(adhesion: dict) -> bytes:
    # loaded on first use: the web process that serves this seldom draws one
    from shared import pdf

    cooperative = adhesion["cooperative"]
    html = render_template(
        "pdf/engagement.html", cooperative=cooperative, department=adhesion.get("department") or {},
        year=year_label(adhesion["year"]), amount=eur(adhesion["amounts"]["total"]),
        heading=coop_heading(cooperative).removeprefix("Adhésion de la ").rstrip("."),
        insurance=adhesion["insurance"],
    )
    return pdf.draw(html, "the engagement")
