"""marshmallow schemas of the notify service: the email log's filters and answer."""
from marshmallow import Schema, fields, validate

from services.notify.domain import KINDS, STATUSES
from shared.fields import StrictSchema
from shared.schemas import cooperative_field, item_list, year_field


class MessageFilter(StrictSchema):
    cooperative = fields.String(
        validate=validate.Regexp(r"^[A-Z0-9]{6,16}\Z", error="Numéro de coopérative invalide (6 à 16 caractères A–Z, 0–9).")
    )
    year = fields.String(validate=validate.Regexp(r"^[0-9]{4}-[0-9]{4}\Z", error="Année au format 2025-2026."))
    kind = fields.String(validate=validate.OneOf(KINDS))
    status = fields.String(validate=validate.OneOf(STATUSES))
    limit = fields.Integer(
        load_default=500, validate=validate.Range(1, 5000, error="Entre {min} et {max}.")
    )
    # pages of the log: skip this many of the newest first
    offset = fields.Integer(load_default=0, validate=validate.Range(0, 10_000_000, error="Entre {min} et {max}."))


class MessageOut(Schema):
    id = fields.Integer(metadata={"description": "The log row (POST /api/notify/messages/{id}/resend)"})
    department = fields.String(metadata={"description": "The department the email belongs to"})
    to = fields.String(metadata={"description": "Recipient's address"})
    subject = fields.String(metadata={"description": "The email's subject"})
    kind = fields.String(metadata={"description": "What it is about: " + ", ".join(KINDS)})
    status = fields.String(metadata={"description": "queued, sent, failed (given up) or skipped (a reminder "
                                                    "no longer due when its turn came)"})
    attempts = fields.Integer(metadata={"description": "Delivery attempts made so far"})
    sent_at = fields.DateTime(allow_none=True, metadata={"description": "When the SMTP server accepted it"})
    message_id = fields.String(metadata={"description": "Its Message-ID header, stable across retries"})
    cooperative = cooperative_field()
    year = year_field()
    created_at = fields.DateTime(metadata={"description": "When it was queued"})
    last_error = fields.String(allow_none=True, metadata={"description": "The last delivery failure, if any"})


MessageList = item_list(MessageOut)


class FailedFilter(StrictSchema):
    limit = fields.Integer(load_default=200, validate=validate.Range(1, 1000, error="Entre {min} et {max}."))


class Resent(Schema):
    id = fields.Integer()
    status = fields.String(metadata={"description": "queued: handed to the transactional lane again"})


class ReminderProgress(Schema):
    """How far the department's latest reminder round (or ``?round=``) has gone."""

    year = fields.String(metadata={"example": "2025-2026"})
    round = fields.Integer(allow_none=True, metadata={"description": "null: no round sent yet"})
    total = fields.Integer(metadata={"description": "the round's size (what its events say, or what is logged)"})
    queued = fields.Integer(metadata={"description": "still to send, logged or still in the broker's queue"})
    sent = fields.Integer()
    failed = fields.Integer()
    skipped = fields.Integer(metadata={"description": "no longer due when their turn came"})


class RoundFilter(StrictSchema):
    round = fields.Integer(validate=validate.Range(1, 10000, error="Entre {min} et {max}."))
