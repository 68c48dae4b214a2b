"""Reminder rounds (docs/campaign.md#6-reminder-rounds): one ``adhesion.reminder_due``
per active cooperative not renewed for the year, sent by staff now or by Celery beat on
the dates the department chose.

Rounds are numbered per department and year with a counter row locked in the round's
transaction, so concurrent rounds queue and a rolled-back one gives its number back.

A scheduled date must be today or later: a past date would fire a round within minutes,
without the confirmation a round sent by hand asks for. Dates reached together (the
scheduler stopped a while, two dates in one tick) make one round, not one each: a school
is never reminded twice within minutes. Who a round reaches is checked again when each
email goes out (notify skips a school that sent, was validated or deactivated since)."""
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from services.adhesion import domain, events
from services.adhesion.models import Adhesion, Cooperative, ReminderDate, ReminderRound
from services.adhesion.repository import rate_card
from shared.auth import Principal
from shared.counters import increment
from shared.errors import Invalid
from shared.service import ServiceContext

PARIS = ZoneInfo("Europe/Paris")  # a date staff pick is a Paris day


def next_round(session: Session, department: str, year: str) -> int:
    return increment(session, ReminderRound, "last_round", department=department, year=year)


def not_renewed(department: str, year: str):
    """Who a reminder reaches: the department's active cooperatives not renewed for
    ``year`` (no adhesion, or a draft never sent). The round and its preview both ask this."""
    renewed = select(Adhesion.cooperative).where(Adhesion.year == year, Adhesion.status != domain.DRAFT)
    return select(Cooperative).where(
        Cooperative.department == department, Cooperative.active.is_(True), Cooperative.number.not_in(renewed))


def remind(session: Session, department: str, year: str) -> tuple[int, list[str]]:
    """A new round: one ``adhesion.reminder_due`` per cooperative not renewed."""
    round_ = next_round(session, department, year)  # row lock: concurrent rounds queue here
    card = rate_card(session, department, year)
    cooperatives = session.scalars(not_renewed(department, year).order_by(Cooperative.number)).all()
    for cooperative in cooperatives:
        events.reminder_due(session, cooperative, year, round_, card, len(cooperatives))
    return round_, [cooperative.number for cooperative in cooperatives]


def send_reminders(ctx: ServiceContext, principal: Principal, year: str) -> dict:
    """A round now, to every cooperative of the department not renewed for ``year``."""
    with ctx.database.session() as session:
        rate_card(session, principal.department, year)
        round_, reminded = remind(session, principal.department, year)
    ctx.publish()
    return {"round": round_, "reminded": reminded, "count": len(reminded)}


def reminder_reach(ctx: ServiceContext, principal: Principal, year: str) -> dict:
    """How many cooperatives ``send_reminders`` would reach now (the same rule)."""
    with ctx.database.session() as session:
        count = session.scalar(select(func.count()).select_from(not_renewed(principal.department, year).subquery()))
        return {"year": year, "count": count}


def schedule_items(session: Session, department: str, year: str) -> list[ReminderDate]:
    return list(session.scalars(select(ReminderDate).where(
        ReminderDate.department == department, ReminderDate.year == year).order_by(ReminderDate.day)))


def get_schedule(ctx: ServiceContext, principal: Principal, year: str) -> dict:
    with ctx.database.session() as session:
        return {"items": schedule_items(session, principal.department, year)}


def set_schedule(ctx: ServiceContext, principal: Principal, year: str, dates: list[date],
                 today: date | None = None) -> dict:
    """The department's reminder dates; a round already sent stays as it was, a date not
    sent yet may be removed, a new date must not be past (Paris day)."""
    today = today or datetime.now(PARIS).date()
    with ctx.database.session() as session:
        rate_card(session, principal.department, year)
        known = {item.day for item in schedule_items(session, principal.department, year)}
        past = sorted(day for day in set(dates) - known if day < today)
        if past:
            shown = ", ".join(day.strftime("%d/%m/%Y") for day in past)
            raise Invalid(f"Date de relance passée ({shown}) : choisissez aujourd'hui ou plus tard, "
                          "ou relancez maintenant avec « Envoyer un rappel par e-mail » sur la liste des adhésions.",
                          {"dates": [f"La date {shown} est passée."]})
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
    """What beat runs: the scheduled dates reached and not yet sent go out now, once, as
    one round per department and year however many of them are reached.

    The claim (``UPDATE … WHERE sent_at IS NULL``) and the round's events share one
    transaction: a second beat, or a restarted one, finds the rows taken (or, if the first
    died mid-round, nothing committed and the round whole to send). Two dates reached at
    once (issue 25: 15/11 and 25/11 found on 3/12, or a scheduler stopped for a week) were
    two rounds minutes apart; they are one round, both dates marked with it."""
    sent = []
    with ctx.database.session() as session:
        due = session.execute(select(ReminderDate.department, ReminderDate.year).where(
            ReminderDate.day <= today, ReminderDate.sent_at.is_(None)).distinct()
            .order_by(ReminderDate.department, ReminderDate.year)).all()
    for department, year in due:
        with ctx.database.session() as session:
            days = session.scalars(
                update(ReminderDate)
                .where(ReminderDate.department == department, ReminderDate.year == year, ReminderDate.day <= today,
                       ReminderDate.sent_at.is_(None))
                .values(sent_at=datetime.now(timezone.utc))
                .returning(ReminderDate.day)
            ).all()
            if not days:
                continue
            round_, reminded = remind(session, department, year)
            for day in days:
                item = session.get(ReminderDate, (department, year, day))
                item.round, item.count = round_, len(reminded)
            sent.append({"department": department, "year": year, "dates": sorted(d.isoformat() for d in days),
                         "round": round_, "count": len(reminded)})
        ctx.publish()
    return sent
