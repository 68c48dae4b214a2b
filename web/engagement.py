"""The engagement du mandataire, pre-filled as a one-page PDF (xhtml2pdf, as the documents
service renders its own): the school prints it, dates it, signs it and sends it."""
import io

from flask import render_template

from web.formatting import eur, year_label
from web.pages import coop_heading

# The markup embeds nothing: refuse every file and network read.


def filename(number: str, year: str) -> str:
    """The name the browser saves, the same in the page's link and the download."""
    return f"engagement-mandataire-{number}-{year}.pdf"


def render(adhesion: dict) -> bytes:
    # xhtml2pdf is loaded on first use: the web process that serves this seldom
    # draws one, and the import costs ~0.25 s of every start
    from xhtml2pdf import pisa
    from xhtml2pdf.config.resources import ResourceAccessPolicy

    policy = ResourceAccessPolicy.server(None, allow_remote=False, max_render_seconds=30)
    cooperative = adhesion["cooperative"]
    html = render_template(
        "pdf/engagement.html", cooperative=cooperative, department=adhesion.get("department") or {},
        year=year_label(adhesion["year"]), amount=eur(adhesion["amounts"]["total"]),
        heading=coop_heading(cooperative).removeprefix("Adhésion de la ").rstrip("."),
        insurance=adhesion["insurance"],
    )
    out = io.BytesIO()
    status = pisa.CreatePDF(html, dest=out, encoding="utf-8", resource_policy=policy)
    if status.err:
        raise RuntimeError(f"xhtml2pdf could not render the engagement: {status.err} error(s)")
    return out.getvalue()
