"""Events the payment service produces."""
from marshmallow import Schema, fields, validate

from contracts.fields import COOPERATIVE_EXAMPLE, DEPARTMENT_EXAMPLE, CooperativeRef, Day, DepartmentRef, Money, Year
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


class Reversed(Schema):
    """Staff cancelled a payment (a cheque returned unpaid, a transfer rejected, a typing
    error): the school is told what it still owes and how to pay it. A direct debit the
    bank returned is not one of these: ``payment.direct_debit_returned`` tells it."""

    cooperative = fields.Nested(CooperativeRef, required=True)
    # the department as the latest submission described it, with how schools pay it
    department = fields.Nested(DepartmentRef, required=True)
    year = Year()
    sequence = fields.Integer(required=True, strict=True)  # the reversal's payment id: one email each
    amount = Money()  # reversed, positive
    method = fields.String(required=True)  # the cancelled payment's: "cheque", "transfer", …
    received_on = Day()  # the day the cancelled payment was received
    reason = fields.String(required=True)  # the staff's words: « Chèque impayé »
    amount_due = Money()
    amount_paid = Money()  # after the reversal
    balance = Money()  # still to pay (0.00 when a refund of an overpayment leaves nothing due)
    reference = fields.String(required=True)  # the payment reference (RF…), compact


REVERSED = Contract(
    "payment.reversed", 1, Reversed,
    {"cooperative": COOPERATIVE_EXAMPLE,
     "department": {**DEPARTMENT_EXAMPLE, "payee": "OCCE 38", "iban": "FR7630004000031234567890143", "bic": "BNPAFRPPXXX"},
     "year": "2025-2026", "sequence": 57, "amount": "439.25", "method": "cheque", "received_on": "2025-09-12",
     "reason": "Chèque impayé", "amount_due": "439.25", "amount_paid": "0.00", "balance": "439.25",
     "reference": "RF37260382296P00"},
    "staff reversed a payment (not a returned direct debit): email the school what remains to pay",
)


class _AboutCollection(Schema):
    """A direct debit collection, with what its emails say (docs/sepa.md)."""

    cooperative = fields.Nested(CooperativeRef, required=True)
    department = fields.Nested(DepartmentRef, required=True)
    year = Year()
    collection = fields.Integer(required=True, strict=True)  # the collection's id: one email per event kind
    sequence = fields.Integer(required=True, strict=True)  # grows with each email of the collection
    rum = fields.String(required=True)
    ics = fields.String(required=True)
    creditor_name = fields.String(required=True)
    amount = Money()
    collection_date = Day()
    end_to_end_id = fields.String(required=True)


class DirectDebitNotified(_AboutCollection):
    pass


class DirectDebitReturned(_AboutCollection):
    reason_code = fields.String(required=True)
    reason = fields.String(required=True)  # in French: « Provision insuffisante »
    validated = fields.Boolean(required=True)  # the adhesion was validated: staff must regularise
    staff_email = fields.String(required=True)  # "" when the department gave none


_COLLECTION = {"cooperative": COOPERATIVE_EXAMPLE, "department": DEPARTMENT_EXAMPLE, "year": "2025-2026",
               "collection": 12, "sequence": 1201, "rum": "RKP-38-0382296P00-001", "ics": "FR72ZZZ123456",
               "creditor_name": "OCCE de l'Isère", "amount": "439.25", "collection_date": "2025-10-15",
               "end_to_end_id": "RF37260382296P00"}

DIRECT_DEBIT_NOTIFIED = Contract(
    "payment.direct_debit_notified", 1, DirectDebitNotified, {**_COLLECTION, "sequence": 1201},
    "a collection is planned (or its amount changed): pre-notify the school (amount, date, RUM, ICS), bulk lane",
)
DIRECT_DEBIT_RETURNED = Contract(
    "payment.direct_debit_returned", 1, DirectDebitReturned,
    {**_COLLECTION, "sequence": 1299, "reason_code": "AM04", "reason": "Provision insuffisante", "validated": True,
     "staff_email": "occe38@example.org"},
    "the bank returned or rejected a collection: its payment is reversed; email the school",
)
DIRECT_DEBIT_RETURN_FOR_STAFF = Contract(
    "payment.direct_debit_return_for_staff", 1, DirectDebitReturned,
    {**_COLLECTION, "sequence": 1299, "reason_code": "AM04", "reason": "Provision insuffisante", "validated": True,
     "staff_email": "occe38@example.org"},
    "the same return, for the department's mailbox (published when the department gave one)",
)


class CreditorChanged(Schema):
    department = fields.String(required=True)
    direct_debit = fields.Boolean(required=True)  # the department collects by direct debit


CREDITOR_CHANGED = Contract(
    "payment.creditor_changed", 1, CreditorChanged, {"department": "38", "direct_debit": True},
    "a department's SEPA creditor settings were saved: its schools are offered « prélèvement »",
)
