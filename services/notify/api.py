"""``/api/notify``: the email log staff read (docs/http.md#6-the-calls)."""
from flask_smorest import Blueprint
from marshmallow import RAISE

from services.notify import personal_data as personal
from services.notify import service as notify
from services.notify.schemas import FailedFilter, MessageFilter, MessageList, ReminderProgress, Resent, RoundFilter
from shared.auth import current_principal, service_required, staff_or_service_required, staff_required
from shared.errors import checked_path
from shared.openapi import link, links
from shared.personal_data import internal_route
from shared.service import service

blp = Blueprint("notify", __name__, url_prefix="/api/notify", description="Emails envoyés")


@blp.get("/messages")
@staff_required
@blp.arguments(MessageFilter, location="query", unknown=RAISE)  # a misspelt filter is not ignored
@blp.response(200, MessageList)
@blp.doc(**links(200, ResendTheFirstMessage=link("post", "/api/notify/messages/{message_id}/resend", "Renvoyer le premier courriel de la liste",
                                                 message_id="$response.body#/items/0/id")))
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


@blp.get("/failed")
@service_required
@blp.arguments(FailedFilter, location="query", unknown=RAISE)
@blp.response(200, MessageList)
def failed_messages(filters):
    """Every department's failed emails, newest first (for the national admin's
    « État du système », asked by the adhesion service)."""
    return {"items": notify.failed_messages(service(), filters["limit"])}


@blp.post("/messages/<int:message_id>/resend")
@staff_or_service_required
@blp.response(200, Resent)
def resend(message_id):
    """« Renvoyer »: a failed email queued again on the transactional lane, as it was
    composed (its Message-ID unchanged), and sent once."""
    return notify.resend(service(), current_principal(), message_id)
internal_route(blp, personal.export)  # GET …/internal/personal-data/<number>
