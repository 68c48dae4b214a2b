"""marshmallow schemas of the audit service: the listing's filters, a record, a page,
the chain's check."""
from marshmallow import Schema, fields, validate

from shared.fields import StrictSchema, Text
from shared.schemas import department_field


class EventsQuery(StrictSchema):
    department = fields.String(validate=validate.Regexp(r"(\d{2,3}|2[AB])\Z"))
    actor = Text(validate=validate.Length(max=100))
    target = Text(validate=validate.Length(max=100))
    action = fields.String(validate=validate.Regexp(r"[a-z_]+(\.[a-z_]*)*\Z"))
    from_ = fields.Date(data_key="from", metadata={"description": "First day (inclusive)"})
    to = fields.Date(metadata={"description": "Last day (inclusive)"})
    before = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1),
                            metadata={"description": "The previous page's ``next``"})
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=500))


class RecordOut(Schema):
    seq = fields.Integer(metadata={"description": "The record's place in the chain"})
    at = fields.String(metadata={"description": "When (ISO 8601, UTC)"})
    service = fields.String()
    actor = fields.String(metadata={"description": "Login of who did it (« système » for a scheduled job)"})
    actor_kind = fields.String(metadata={"description": "school, staff, national, system, service or anonymous"})
    department = department_field()
    action = fields.String()
    target = fields.String(metadata={"description": "What it was done to: a cooperative's number, …"})
    details = fields.Dict(metadata={"description": "Identifiers, amounts, states, before → after"})
    address = fields.String()
    request_id = fields.String()


class RecordPage(Schema):
    items = fields.List(fields.Nested(RecordOut))
    next = fields.Integer(allow_none=True, metadata={"description": "``before`` of the next page, null at the end"})


class VerifyOut(Schema):
    records = fields.Integer()
    ok = fields.Boolean()
    first_bad = fields.Integer(allow_none=True, metadata={"description": "Number of the first record that fails"})
