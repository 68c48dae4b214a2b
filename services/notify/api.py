"""``/api/notify``: the email log staff read (SPEC §4)."""
from flask_smorest import Blueprint
from marshmallow import RAISE
from sqlalchemy import func, select

from services.notify import domain
from services.notify.models import Message
from services.notify.schemas import MessageFilter, MessageList, ReminderProgress, RoundFilter
from shared.auth import current_principal, ensure_access, staff_required
from shared.errors import checked_path
from shared.service import service

blp = Blueprint("notify", __name__, url_prefix="/api/notify", description="Emails envoyés")


@blp.get("/messages")
@staff_required
@blp.arguments(MessageFilter, location="query", unknown=RAISE)  # a misspelt filter is not ignored
@blp.response(200, MessageList)
def list_messages(filters):
    """The department's emails, newest first; ``?cooperative=`` for one cooperative."""
    principal = current_principal()
    query = select(Message).where(Message.department == principal.department)
    for name in ("cooperative", "year", "kind", "status"):
        if name in filters:
            query = query.where(getattr(Message, name) == filters[name])
    query = query.order_by(Message.created_at.desc(), Message.id.desc()).limit(filters["limit"])
    with service().database.session() as session:
        if filters.get("cooperative"):  # another department's cooperative: refused, not an empty list
            department = session.scalar(select(Message.department).where(
                Message.cooperative == filters["cooperative"]).limit(1))
            if department is not None:
                ensure_access(principal, filters["cooperative"], department)
        return {"items": session.scalars(query).all()}


@blp.get("/reminders/<year>")
@staff_required
@blp.arguments(RoundFilter, location="query", unknown=RAISE)
@blp.response(200, ReminderProgress)
def reminder_progress(filters, year):
    """The reminder emails of one round of the department, by status (the latest round
    unless ``?round=``); emails not logged yet are still in the bulk lane's queue."""
    checked_path(year=year)
    reminders = (Message.kind == domain.RENEWAL_REMINDER, Message.department == current_principal().department,
                 Message.year == year)
    with service().database.session() as session:
        round_ = filters.get("round") or session.scalar(select(func.max(Message.sequence)).where(*reminders))
        counts = dict(session.execute(
            select(Message.status, func.count()).where(*reminders, Message.sequence == round_).group_by(Message.status)
        ).all()) if round_ else {}
    return {"year": year, "round": round_, **{status: counts.get(status, 0) for status in domain.STATUSES}}
