"""Events the payment service produces."""
from marshmallow import Schema, fields, validate

from contracts.fields import Day, Money, Year
from shared.events import Contract

PAYMENT_STATUSES = ("unpaid", "partial", "paid", "overpaid")


class Received(Schema):
    cooperative = fields.String(required=True)
    year = Year()
    department = fields.String(required=True)
    amount_paid = Money()
    amount_due = Money()
    payments_count = fields.Integer(required=True, strict=True)  # consumers keep the highest count
    methods = fields.List(fields.String(), required=True)
    status = fields.String(required=True, validate=validate.OneOf(PAYMENT_STATUSES))
    # the day the latest payment was received (ISO date); optional: older producers lack it
    last_received_on = Day(allow_none=True)


RECEIVED = Contract(
    "payment.received", 1, Received,
    {"cooperative": "0382296P00", "year": "2025-2026", "department": "38", "amount_paid": "439.25",
     "amount_due": "439.25", "payments_count": 2, "methods": ["cheque"], "status": "paid"},
    "a payment was recorded: the dues state after it",
)
