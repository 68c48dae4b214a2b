"""The September campaign at a glance (docs/campaign.md#5-the-campaign): its figures per
day and the CSV exports staff open in French Excel. The reminder rounds are in
``reminders.py``."""
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, noload

from services.adhesion import domain
from services.adhesion.models import Adhesion, AdhesionClass, Cooperative
from services.adhesion.reminders import schedule_items
from services.adhesion.repository import rate_card, rates_of
from shared.auth import Principal
from shared.csv_export import csv_bytes
from shared.service import ServiceContext

PARIS = ZoneInfo("Europe/Paris")  # a submission at 23:30 in Grenoble counts for that day
STATUS_FR = {"not_started": "non commencée", "draft": "non envoyée", "submitted": "saisie",
             "correction_requested": "à corriger", "validated": "validée"}


def local_day(moment: datetime | None) -> date | None:
    if moment is None:
        return None
    return moment.astimezone(PARIS).date()


@dataclass(frozen=True)
class Figures:
    """An adhesion with its totals and amounts, read without loading its class rows."""

    adhesion: Adhesion
    totals: domain.Totals
    amounts: domain.Amounts


def year_figures(session: Session, department: str, year: str, rates: domain.Rates | None) -> dict[str, Figures]:
    """Every adhesion of the department and year by cooperative: two queries (the
    adhesions, and the class counts summed by the database) however many there are."""
    sums = {adhesion_id: (int(teachers or 0), int(students or 0)) for adhesion_id, teachers, students in session.execute(
        select(AdhesionClass.adhesion_id, func.sum(AdhesionClass.teacher_count), func.sum(AdhesionClass.student_count))
        .join(Adhesion, Adhesion.id == AdhesionClass.adhesion_id)
        .where(Adhesion.department == department, Adhesion.year == year)
        .group_by(AdhesionClass.adhesion_id))}
    figures = {}
    for adhesion in session.scalars(select(Adhesion).options(noload(Adhesion.classes)).where(
            Adhesion.department == department, Adhesion.year == year)):
        teachers, students = sums.get(adhesion.id, (0, 0))
        totals = domain.Totals(teachers=teachers, students=students, cooperators=teachers + students)
        amounts = domain.amounts_of(rates, totals, adhesion.insurance, adhesion.goods_value,
                                    adhesion.instruments_value) if rates else None
        figures[adhesion.cooperative] = Figures(adhesion, totals, amounts)
    return figures


def _year_rows(session: Session, department: str, year: str, rates: domain.Rates):
    """Each active cooperative of the department with its adhesion's figures (or None)."""
    figures = year_figures(session, department, year, rates)
    cooperatives = session.scalars(select(Cooperative).where(
        Cooperative.department == department, Cooperative.active.is_(True)).order_by(Cooperative.number)).all()
    return [(c, figures.get(c.number)) for c in cooperatives]


def stats(ctx: ServiceContext, principal: Principal, year: str) -> dict:
    with ctx.database.session() as session:
        card = rate_card(session, principal.department, year)
        rates = rates_of(card)
        rows = _year_rows(session, principal.department, year, rates)
        by_status = {status: 0 for status in domain.STATUSES}
        late = unpaid = cooperators = 0
        submitted_on, validated_on = Counter(), Counter()
        for _, figures in rows:
            if figures is None:
                continue
            adhesion, totals, amounts = figures.adhesion, figures.totals, figures.amounts
            by_status[adhesion.status] += 1
            if adhesion.status == domain.DRAFT:
                continue
            cooperators += totals.cooperators
            late += adhesion.late
            unpaid += adhesion.amount_paid < amounts.total
            submitted_on[local_day(adhesion.submitted_at)] += 1
            if adhesion.status == domain.VALIDATED:
                validated_on[local_day(adhesion.validated_at)] += 1
        reminders = schedule_items(session, principal.department, year)
    daily, submitted_total, validated_total = [], 0, 0
    for day in domain.campaign_days(year, card.renewal_opens, card.renewal_closes, [*submitted_on, *validated_on]):
        submitted_total += submitted_on[day]
        validated_total += validated_on[day]
        daily.append({"date": day, "submitted": submitted_on[day], "validated": validated_on[day],
                      "submitted_total": submitted_total, "validated_total": validated_total})
    return {
        "year": year,
        "cooperatives": len(rows),
        "not_started": sum(1 for _, a in rows if a is None),
        "by_status": by_status,
        "late": late,
        "validated": by_status[domain.VALIDATED],
        "unpaid": unpaid,
        "cooperators": cooperators,
        "daily": daily,
        "reminders": [{"date": r.day.isoformat(), "round": r.round, "count": r.count} for r in reminders],
    }


NO_AMOUNT = Decimal("0.00")


def adhesions_csv(ctx: ServiceContext, principal: Principal, year: str) -> bytes:
    """Each active cooperative and its adhesion; names, towns and addresses formula-safe,
    amounts and counts numbers with a decimal comma (shared/csv_export.py)."""
    with ctx.database.session() as session:
        rates = rates_of(rate_card(session, principal.department, year))
        lines = []
        for cooperative, figures in _year_rows(session, principal.department, year, rates):
            start = [cooperative.number, cooperative.name, cooperative.town, cooperative.email]
            if figures is None:
                lines.append(start + [STATUS_FR["not_started"], "", 0, 0, 0] + [NO_AMOUNT] * 6 + [""])
                continue
            adhesion, totals, amounts = figures.adhesion, figures.totals, figures.amounts
            lines.append(start + [
                STATUS_FR[adhesion.status], "oui" if adhesion.late else "non",
                totals.teachers, totals.students, totals.cooperators,
                amounts.membership, amounts.insurance, amounts.goods,
                amounts.instruments, amounts.total, adhesion.amount_paid,
                adhesion.registration_code or "",
            ])
    return csv_bytes(["Numéro", "Coopérative", "Commune", "Courriel", "Statut", "En retard", "Enseignants", "Élèves",
                      "Coopérateurs", "Adhésion", "Assurance", "Biens", "Instruments", "Total", "Payé",
                      "Code d'enregistrement"], lines)


def declaration_csv(ctx: ServiceContext, principal: Principal, year: str) -> bytes:
    """The insurer's declaration: each validated, insured cooperative and its premium."""
    with ctx.database.session() as session:
        rates = rates_of(rate_card(session, principal.department, year))
        lines = []
        for cooperative, figures in _year_rows(session, principal.department, year, rates):
            if figures is None or figures.adhesion.status != domain.VALIDATED or not figures.adhesion.insurance:
                continue
            adhesion, totals, amounts = figures.adhesion, figures.totals, figures.amounts
            premium = amounts.insurance + amounts.goods + amounts.instruments
            lines.append([cooperative.number, cooperative.name, cooperative.town, adhesion.registration_code,
                          totals.cooperators, adhesion.goods_value, adhesion.instruments_value, premium])
    return csv_bytes(["Numéro", "Coopérative", "Commune", "Code d'enregistrement", "Coopérateurs", "Biens déclarés",
                      "Instruments déclarés", "Prime"], lines)
