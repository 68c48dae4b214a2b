"""The compte rendu financier as a French PDF a department files as it is (xhtml2pdf
through shared/pdf.py, amounts as 1 437,15 €)."""
from datetime import date
from decimal import Decimal
from itertools import zip_longest
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from services.ledger import domain, yearend
from shared.money import format_eur

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                   autoescape=select_autoescape(["html"]), undefined=StrictUndefined)
_env.filters["eur"] = format_eur
_env.filters["day"] = lambda value: f"{value:%d/%m/%Y}"
_env.filters["isoday"] = lambda value: f"{date.fromisoformat(value):%d/%m/%Y}"
_env.filters["denomination"] = lambda value: format_eur(Decimal(value))


def html(crf: dict, department_name: str, today: date) -> str:
    start, end = domain.exercise(crf["year"])
    return _env.get_template("crf.html").render(
        crf=crf, department_name=department_name, start=f"{start:%d/%m/%Y}", end=f"{end:%d/%m/%Y}",
        today=f"{today:%d/%m/%Y}", rows=list(zip_longest(crf["charges"], crf["produits"])),
        opening_total=crf["opening"]["bank"] + crf["opening"]["cash"],
        closing_total=crf["closing"]["bank"] + crf["closing"]["cash"], qualities=yearend.QUALITY_LABELS)


def pdf(crf: dict, department_name: str, today: date) -> bytes:
    from shared.pdf import draw  # xhtml2pdf loads only where a PDF is drawn

    return draw(html(crf, department_name, today), f"le compte rendu financier {crf['cooperative']} {crf['year']}",
                today)
