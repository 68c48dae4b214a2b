"""``/api/notify``: the email log staff read (docs/http.md#6-the-calls)."""
from flask_smorest import Blueprint
from marshmallow import RAISE

from services.notify import service as notify
from services.notify.schemas import MessageFilter, MessageList, ReminderProgress, RoundFilter
from shared.auth import current_principal, staff_required
from shared.errors import checked_path
from shared.service import service

blp = Blueprint("notify", __name__, url_prefix="/api/notify", description="Emails envoyés")


@blp.get("/messages")
@staff_required
@blp.arguments(MessageFilter, location="query", unknown=RAISE)  # a misspelt filter is not ignored
@blp.response(200, MessageList)
def list_messages(filters):
    """The department's emails, newest first; ``?cooperative=`` for one cooperative."""
    return {"items": notify.list_messages(service(), current_principal(), filters)}


@blp.get("/reminders/<year>")
@staff_required
@blp.arguments(RoundFilter, location="query", unknown=RAISE)
@blp.response(200, ReminderProgress)
def reminder_progress(filters, year):
    """The reminder emails of one round of the department, by status (the latest round
    unless ``?round=``); ``total`` is the round's size, and emails not logged yet (still in
    the bulk lane's queue) count as ``queued``."""
    checked_path(year=year)
    return notify.reminder_progress(service(), current_principal(), year, filters.get("round"))
