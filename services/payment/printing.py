"""The printed cheque remittance slip (*bordereau de remise de chèques*), drawn with
xhtml2pdf from ``templates/cheque_slip.html``."""
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.payment.models import Cheque, ChequeSlip, Due
from shared.money import format_eur, to_cents

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                   undefined=StrictUndefined)
_env.filters["eur"] = format_eur


def department_name(session: Session, department: str) -> str:
    name = session.scalars(select(Due.department_name).where(
        Due.department == department, Due.department_name != "").limit(1)).first()
    return name or f"OCCE {department}"


def render_pdf(session: Session, slip: ChequeSlip, cheques: list[Cheque]) -> bytes:
    # loaded on first use: the web process that serves this seldom draws one
    from shared import pdf

    names = dict(session.execute(select(Due.cooperative, Due.cooperative_name).where(
        Due.department == slip.department, Due.cooperative.in_({c.cooperative for c in cheques}))).all())
    html = _env.get_template("cheque_slip.html").render(
        department=department_name(session, slip.department), slip=slip,
        day=(slip.closed_at or datetime.now()).strftime("%d/%m/%Y"),
        cheques=[{"cheque": c, "name": names.get(c.cooperative, "")} for c in cheques],
        count=len(cheques), total=to_cents(sum((c.amount for c in cheques), Decimal(0))),
    )
    return pdf.draw(html, f"slip {slip.number}")


def render_mandate(session: Session, mandate, creditor, notice_days: int) -> bytes:
    """The pre-filled SEPA mandate the school prints, signs and sends back."""
    from schwifty import IBAN

    from shared import pdf

    name = session.scalars(select(Due.cooperative_name).where(Due.cooperative == mandate.cooperative,
                                                              Due.cooperative_name != "").limit(1)).first()
    html = _env.get_template("sepa_mandate.html").render(
        mandate=mandate, creditor=creditor, cooperative_name=name or mandate.cooperative,
        iban=IBAN(mandate.iban).formatted, notice_days=notice_days)
    return pdf.draw(html, f"mandate {mandate.rum}", mandate.created_at.date())
