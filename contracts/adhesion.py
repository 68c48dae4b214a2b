"""Events the adhesion service produces."""
from marshmallow import Schema, fields, validate

from contracts.fields import (AMOUNTS_EXAMPLE, COOPERATIVE_EXAMPLE, DEPARTMENT_EXAMPLE, TOTALS_EXAMPLE, AmountsRef,
                              CooperativeRef, DepartmentRef, Money, TotalsRef, Year)
from shared.events import Contract


class _AboutAdhesion(Schema):
    cooperative = fields.Nested(CooperativeRef, required=True)
    department = fields.Nested(DepartmentRef, required=True)
    year = Year()
    revision = fields.Integer(required=True, strict=True)  # newest state wins at the consumer


class PaymentAnswers(Schema):
    transfer = fields.Boolean(required=True)
    cheque = fields.Boolean(required=True)
    other = fields.Boolean(required=True)


class Submitted(_AboutAdhesion):
    amount_due = Money()
    amounts = fields.Nested(AmountsRef, required=True)
    totals = fields.Nested(TotalsRef, required=True)
    insurance = fields.Boolean(required=True)
    payment = fields.Nested(PaymentAnswers, required=True)
    late = fields.Boolean(required=True)


class CorrectionRequested(_AboutAdhesion):
    message = fields.String(required=True)


class Validated(_AboutAdhesion):
    registration_code = fields.String(required=True, validate=validate.Regexp(r"\d{2}/\d{4} A\Z"))
    version = fields.Integer(required=True, strict=True)  # 1, then 2 after a reopen and a new validation
    validated_at = fields.String(required=True)
    totals = fields.Nested(TotalsRef, required=True)
    amounts = fields.Nested(AmountsRef, required=True)
    amount_paid = Money()
    payment_methods = fields.List(fields.String(), required=True)
    insurance = fields.Boolean(required=True)
    goods_value = Money()
    instruments_value = Money()
    # the day the payment was received (ISO date), when known: the insurance covers from then
    paid_on = fields.Date(allow_none=True)


class ReminderDue(Schema):
    cooperative = fields.Nested(CooperativeRef, required=True)
    department = fields.Nested(DepartmentRef, required=True)
    year = Year()
    round = fields.Integer(required=True, strict=True)


class PasswordResetRequested(Schema):
    login = fields.String(required=True)
    reason = fields.String(required=True, validate=validate.OneOf(["lockout", "requested"]))
    cooperative = fields.Nested(CooperativeRef, required=True)
    department = fields.Nested(DepartmentRef, required=True)
    reset_url = fields.String(required=True)  # single use, valid until expires_at; only its hash is stored
    expires_at = fields.String(required=True)
    year = Year()  # the school year of the request: the email log files every message under one
    sequence = fields.Integer(required=True, strict=True)  # the account's reset requests, counted from 1


_ABOUT = {"cooperative": COOPERATIVE_EXAMPLE, "department": DEPARTMENT_EXAMPLE, "year": "2025-2026", "revision": 3}

SUBMITTED = Contract(
    "adhesion.submitted", 1, Submitted,
    {**_ABOUT, "amount_due": "439.25", "amounts": AMOUNTS_EXAMPLE, "totals": TOTALS_EXAMPLE, "insurance": True,
     "payment": {"transfer": False, "cheque": True, "other": False}, "late": False},
    "a school sent its adhesion, or changed the amount of a sent one",
)
CORRECTION_REQUESTED = Contract(
    "adhesion.correction_requested", 1, CorrectionRequested,
    {**_ABOUT, "message": "Merci de préciser le nombre d'élèves de CE1."},
    "staff ask the school to correct its adhesion",
)
VALIDATED = Contract(
    "adhesion.validated", 1, Validated,
    {**_ABOUT, "registration_code": "26/0001 A", "version": 1, "validated_at": "2025-09-15T08:30:00+00:00",
     "totals": TOTALS_EXAMPLE, "amounts": AMOUNTS_EXAMPLE, "amount_paid": "439.25", "payment_methods": ["cheque"],
     "insurance": True, "goods_value": "0.00", "instruments_value": "0.00"},
    "staff validated an adhesion: its code d'enregistrement is assigned",
)
REMINDER_DUE = Contract(
    "adhesion.reminder_due", 1, ReminderDue,
    {"cooperative": COOPERATIVE_EXAMPLE, "department": DEPARTMENT_EXAMPLE, "year": "2025-2026", "round": 1},
    "a cooperative has not renewed: one reminder per round",
)

PASSWORD_RESET_REQUESTED = Contract(
    "password_reset.requested", 1, PasswordResetRequested,
    {"login": "0382296P00", "reason": "lockout", "cooperative": COOPERATIVE_EXAMPLE, "department": DEPARTMENT_EXAMPLE,
     "reset_url": "http://127.0.0.1:8000/mot-de-passe/nouveau/q8Zs0yHn3m6Vb1Kx",
     "expires_at": "2025-09-15T09:30:00+00:00", "year": "2025-2026", "sequence": 1},
    "a school's login was locked by failures (or a reset was asked): email it a single-use link",
)
