"""Events every service produces about itself for the audit log: one ``audit.recorded`` per
change made by a person (or a sign-in, a logout, an export, a retention run), written to
the producing service's outbox in the same transaction as the change, so a record exists
if and only if the change was committed."""
from marshmallow import Schema, fields, validate

from contracts.fields import Moment
from shared.events import Contract

ACTOR_KINDS = ("school", "staff", "national", "system", "service", "anonymous")


class Recorded(Schema):
    at = Moment()
    service = fields.String(required=True, validate=validate.Length(min=1, max=20))
    actor = fields.String(required=True, validate=validate.Length(max=100))  # a login, never a name
    actor_kind = fields.String(required=True, validate=validate.OneOf(ACTOR_KINDS))
    department = fields.String(required=True, validate=validate.Length(max=3))
    action = fields.String(required=True, validate=validate.Regexp(r"[a-z_]+(\.[a-z_]+)+\Z"))
    target = fields.String(required=True, validate=validate.Length(max=100))
    # identifiers, amounts (decimal strings), states, before → after: never a name, a mailbox or a secret
    details = fields.Dict(keys=fields.String(), required=True)
    address = fields.String(required=True, validate=validate.Length(max=64))
    request_id = fields.String(required=True, validate=validate.Length(max=64))


RECORDED = Contract(
    "audit.recorded", 1, Recorded,
    {"at": "2025-09-15T08:30:00+00:00", "service": "payment", "actor": "compta38", "actor_kind": "staff",
     "department": "38", "action": "payment.recorded", "target": "0382296P00",
     "details": {"payment": 12, "year": "2025-2026", "amount": "439.25", "method": "cheque",
                 "paid": {"before": "0.00", "after": "439.25"}},
     "address": "192.0.2.10", "request_id": "6f1c2a4e9b0d4c7e8a3f5b2d1e0c9a87"},
    "a person changed something (or signed in, out, exported personal data): one line of the audit log",
)
