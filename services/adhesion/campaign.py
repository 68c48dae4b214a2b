"""The September campaign at a glance (SPEC §8): its figures per day, the CSV exports
staff open in French Excel, and the reminder rounds Celery beat sends on the dates the
department chose."""
import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, noload

from services.adhesion import domain, events
from services.adhesion.models import Adhesion, AdhesionClass, Cooperative, ReminderDate
from services.adhesion.registration import next_reminder_round
from services.adhesion.repository import rate_card, rates_of
from shared.auth import Principal
from shared.service import ServiceContext

PARIS = ZoneInfo("Europe/Paris")  # a submission at 23:30 in Grenoble counts for that day
STATUS_FR = {"not_started": "non commencée", "draft": "non envoyée", "submitted": "saisie",
             "correction_requested": "à corriger", "validated": "validée"}


def local_day(moment: datetime | None) -> date | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(PARIS).date()


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
    day = card.renewal_opens
    while day <= card.renewal_closes:
        submitted_total += submitted_on[day]
        validated_total += validated_on[day]
        daily.append({"date": day, "submitted": submitted_on[day], "validated": validated_on[day],
                      "submitted_total": submitted_total, "validated_total": validated_total})
        day += timedelta(days=1)
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


def _french(value) -> str:
    """Excel in French reads 395,50 as a number; no currency sign, no thousands space."""
    return str(value).replace(".", ",")


def _csv(header: list[str], lines: list[list]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(lines)
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM tells Excel it is UTF-8


def adhesions_csv(ctx: ServiceContext, principal: Principal, year: str) -> bytes:
    with ctx.database.session() as session:
        rates = rates_of(rate_card(session, principal.department, year))
        lines = []
        for cooperative, figures in _year_rows(session, principal.department, year, rates):
            start = [cooperative.number, cooperative.name, cooperative.town, cooperative.email]
            if figures is None:
                lines.append(start + [STATUS_FR["not_started"], "", 0, 0, 0] + ["0,00"] * 6 + [""])
                continue
            adhesion, totals, amounts = figures.adhesion, figures.totals, figures.amounts
            lines.append(start + [
                STATUS_FR[adhesion.status], "oui" if adhesion.late else "non",
                totals.teachers, totals.students, totals.cooperators,
                _french(amounts.membership), _french(amounts.insurance), _french(amounts.goods),
                _french(amounts.instruments), _french(amounts.total), _french(adhesion.amount_paid),
                adhesion.registration_code or "",
            ])
    return _csv(["Numéro", "Coopérative", "Commune", "Courriel", "Statut", "En retard", "Enseignants", "Élèves",
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
                          totals.cooperators, _french(adhesion.goods_value), _french(adhesion.instruments_value),
                          _french(premium)])
    return _csv(["Numéro", "Coopérative", "Commune", "Code d'enregistrement", "Coopérateurs", "Biens déclarés",
                 "Instruments déclarés", "Prime"], lines)


# --- reminder rounds ----------------------------------------------------------------------------


def not_renewed(department: str, year: str):
    """Who a reminder reaches: the department's active cooperatives not renewed for
    ``year`` (no adhesion, or a draft never sent). The round and its preview both ask this."""
    renewed = select(Adhesion.cooperative).where(Adhesion.year == year, Adhesion.status != domain.DRAFT)
    return select(Cooperative).where(
        Cooperative.department == department, Cooperative.active.is_(True), Cooperative.number.not_in(renewed))


def reminder_reach(session: Session, department: str, year: str) -> int:
    """How many cooperatives a round sent now would reach."""
    return session.scalar(select(func.count()).select_from(not_renewed(department, year).subquery()))


def remind(session: Session, department: str, year: str) -> tuple[int, list[str]]:
    """A new round: one ``adhesion.reminder_due`` per cooperative not renewed."""
    round_ = next_reminder_round(session, department, year)  # row lock: concurrent rounds queue here
    cooperatives = session.scalars(not_renewed(department, year).order_by(Cooperative.number)).all()
    for cooperative in cooperatives:
        events.reminder_due(session, cooperative, year, round_)
    return round_, [cooperative.number for cooperative in cooperatives]


def schedule_items(session: Session, department: str, year: str) -> list[ReminderDate]:
    return list(session.scalars(select(ReminderDate).where(
        ReminderDate.department == department, ReminderDate.year == year).order_by(ReminderDate.day)))


def get_schedule(ctx: ServiceContext, principal: Principal, year: str) -> dict:
    with ctx.database.session() as session:
        return {"items": schedule_items(session, principal.department, year)}


def set_schedule(ctx: ServiceContext, principal: Principal, year: str, dates: list[date]) -> dict:
    """The department's reminder dates; a round already sent stays as it was."""
    with ctx.database.session() as session:
        rate_card(session, principal.department, year)
        wanted = set(dates)
        for item in schedule_items(session, principal.department, year):
            if item.day not in wanted and item.sent_at is None:
                session.delete(item)
            wanted.discard(item.day)
        for day in sorted(wanted):
            session.add(ReminderDate(department=principal.department, year=year, day=day))
        session.flush()
        return {"items": schedule_items(session, principal.department, year)}


def send_due_rounds(ctx: ServiceContext, today: date) -> list[dict]:
    """What beat runs: every scheduled date reached and not yet sent is sent now, once.

    The claim (``UPDATE … WHERE sent_at IS NULL``) and the round's events share one
    transaction: a second beat, or a restarted one, finds the row taken (or, if the first
    died mid-round, nothing committed and the round whole to send)."""
    sent = []
    with ctx.database.session() as session:
        due = session.execute(select(ReminderDate.department, ReminderDate.year, ReminderDate.day).where(
            ReminderDate.day <= today, ReminderDate.sent_at.is_(None)).order_by(ReminderDate.day)).all()
    for department, year, day in due:
        with ctx.database.session() as session:
            claimed = session.execute(
                update(ReminderDate)
                .where(ReminderDate.department == department, ReminderDate.year == year, ReminderDate.day == day,
                       ReminderDate.sent_at.is_(None))
                .values(sent_at=datetime.now(timezone.utc))
            ).rowcount
            if not claimed:
                continue
            round_, reminded = remind(session, department, year)
            item = session.get(ReminderDate, (department, year, day))
            item.round, item.count = round_, len(reminded)
            sent.append({"department": department, "year": year, "date": day.isoformat(), "round": round_,
                         "count": len(reminded)})
        ctx.publish()
    return sent
