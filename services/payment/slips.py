"""Cheque remittance slips (*bordereaux de remise de chèques*): numbering, totals and the
printed slip (xhtml2pdf)."""
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import func, select

from services.payment.models import Cheque, ChequeSlip, Due
from shared.money import format_eur, to_cents

_env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True,
                   undefined=StrictUndefined)
_env.filters["eur"] = format_eur


def next_number(session, department: str, today: date) -> str:
    """``2025-0007``: the year and the department's sequence within it (unique per department)."""
    prefix = f"{today.year}-"
    count = session.scalar(select(func.count()).select_from(ChequeSlip).where(
        ChequeSlip.department == department, ChequeSlip.number.like(prefix + "%")))
    return f"{prefix}{count + 1:04d}"


def cheques_of(session, slip: ChequeSlip) -> list[Cheque]:
    return list(session.scalars(select(Cheque).where(Cheque.slip_id == slip.id).order_by(Cheque.id)))


def total_of(session, slip: ChequeSlip) -> Decimal:
    return to_cents(sum((c.amount for c in cheques_of(session, slip)), Decimal(0)))


def summary(session, slip: ChequeSlip, with_cheques: bool = False) -> dict:
    cheques = cheques_of(session, slip)
    answer = {"id": slip.id, "number": slip.number, "status": slip.status, "account": slip.account,
              "count": len(cheques), "total": to_cents(sum((c.amount for c in cheques), Decimal(0))),
              "created_at": slip.created_at, "closed_at": slip.closed_at, "created_by": slip.created_by}
    if with_cheques:
        answer["cheques"] = [{k: getattr(c, k) for k in (
            "id", "cooperative", "year", "amount", "cheque_number", "bank", "drawer")} for c in cheques]
    return answer


def department_name(session, department: str) -> str:
    name = session.scalars(select(Due.department_name).where(
        Due.department == department, Due.department_name != "").limit(1)).first()
    return name or f"OCCE {department}"


def render_pdf(session, slip: ChequeSlip) -> bytes:
    # loaded on first use: the web process that serves this seldom draws one
    from shared import pdf

    cheques = cheques_of(session, slip)
    names = dict(session.execute(select(Due.cooperative, Due.cooperative_name).where(
        Due.department == slip.department, Due.cooperative.in_({c.cooperative for c in cheques}))).all())
    html = _env.get_template("cheque_slip.html").render(
        department=department_name(session, slip.department), slip=slip,
        day=(slip.closed_at or datetime.now()).strftime("%d/%m/%Y"),
        cheques=[{"cheque": c, "name": names.get(c.cooperative, "")} for c in cheques],
        count=len(cheques), total=to_cents(sum((c.amount for c in cheques), Decimal(0))),
    )
    return pdf.draw(html, f"slip {slip.number}")
