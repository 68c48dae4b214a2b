"""Events the adhesion service produces."""
from marshmallow import Schema, fields, validate

from contracts.fields import (
    AMOUNTS_EXAMPLE,
    COOPERATIVE_EXAMPLE,
    DEPARTMENT_EXAMPLE,
    TOTALS_EXAMPLE,
    AmountsRef,
    CooperativeRef,
    Day,
    DepartmentRef,
    Moment,
    Money,
    TotalsRef,
    Year,
)
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
    # « prélèvement » (docs/sepa.md): absent from events of earlier producers, meaning no
    direct_debit = fields.Boolean(load_default=False)


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
    validated_at = Moment()
    totals = fields.Nested(TotalsRef, required=True)
    amounts = fields.Nested(AmountsRef, required=True)
    amount_paid = Money()
    payment_methods = fields.List(fields.String(), required=True)
    insurance = fields.Boolean(required=True)
    goods_value = Money()
    instruments_value = Money()
    # the day the payment was received (ISO date), when known: the insurance covers from then
    paid_on = Day(allow_none=True)


class ReminderDue(Schema):
    cooperative = fields.Nested(CooperativeRef, required=True)
    department = fields.Nested(DepartmentRef, required=True)
    year = Year()
    round = fields.Integer(required=True, strict=True)
    # added in issue 25 (absent from events written before): how many the round reminds
    # (the progress staff follow counts what is still queued against it) and the
    # department's own renewal window, which the reminder quotes
    round_size = fields.Integer(strict=True, load_default=None)
    renewal_opens = Day(load_default=None)
    renewal_closes = Day(load_default=None)


class ActiveChanged(Schema):
    """Staff deactivated a cooperative (no login, no reminder) or activated it again."""

    cooperative = fields.Nested(CooperativeRef, required=True)
    active = fields.Boolean(required=True)
    changed_at = Moment()  # the newest change wins at the consumer


class _PasswordLink(Schema):
    """A single-use link to choose a password: only its token's hash is stored, the link
    travels once, to the account's mailbox, sealed on its way (v2: the outbox and the
    broker never hold a live token in clear; ``shared.sealed`` opens it with SECRET_KEY)."""

    login = fields.String(required=True)
    to = fields.String(required=True)  # the account's mailbox: the cooperative's, or a staff member's own
    cooperative = fields.Nested(CooperativeRef, required=True, allow_none=True)  # None for a staff account
    department = fields.Nested(DepartmentRef, required=True)
    expires_at = Moment()
    year = Year()  # the school year of the request: the email log files every message under one
    sequence = fields.Integer(required=True, strict=True)  # the login's links, counted from 1: one email each


class PasswordResetRequested(_PasswordLink):
    reason = fields.String(required=True, validate=validate.OneOf(["lockout", "requested", "staff"]))
    sealed_link = fields.String(required=True)  # the link (valid one hour), sealed


class Invited(_PasswordLink):
    sealed_link = fields.String(required=True)  # the link (valid 14 days), sealed


_LINK = {"login": "0382296P00", "to": "ce.0382296p@ac-grenoble.fr", "cooperative": COOPERATIVE_EXAMPLE,
         "department": DEPARTMENT_EXAMPLE, "expires_at": "2025-09-15T09:30:00+00:00", "year": "2025-2026",
         "sequence": 1}
# "http://127.0.0.1:8000/invitation/q8Zs0yHn3m6Vb1Kx" sealed with SECRET_KEY "example"
_SEALED_EXAMPLE = ("gAAAAABrEXFeG-zM007pPfmReoh2MGJ2e1_MBFwAtQ86SBFUzu-EdJ1qwIgaVCXLiCYJeyrnlXd4LDXp7Mx1Rj56x75uGPb3"
                   "MJHC1-j1k1V4T1waYiJJu9CD7jnPM2UuNZqvByX68PXBlpgRDrzklz2Kz_CeuYjaAQ==")
_ABOUT = {"cooperative": COOPERATIVE_EXAMPLE, "department": DEPARTMENT_EXAMPLE, "year": "2025-2026", "revision": 3}

SUBMITTED = Contract(
    "adhesion.submitted", 1, Submitted,
    {**_ABOUT, "department": {**DEPARTMENT_EXAMPLE, "payee": "OCCE 38", "iban": "FR7630006000011234567890189",
                              "bic": "AGRIFRPP"},
     "amount_due": "439.25", "amounts": AMOUNTS_EXAMPLE, "totals": TOTALS_EXAMPLE, "insurance": True,
     "payment": {"transfer": False, "cheque": True, "other": False, "direct_debit": False}, "late": False},
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
    {"cooperative": COOPERATIVE_EXAMPLE, "department": DEPARTMENT_EXAMPLE, "year": "2025-2026", "round": 1,
     "round_size": 412, "renewal_opens": "2025-09-01", "renewal_closes": "2025-10-15"},
    "a cooperative has not renewed: one reminder per round",
)

INVITED = Contract(
    "cooperative.invited", 2, Invited,
    {**_LINK, "sealed_link": _SEALED_EXAMPLE},
    "a cooperative was created by the bulk import: email it a single-use link to choose its password (14 days)",
)
PASSWORD_RESET_REQUESTED = Contract(
    "password_reset.requested", 2, PasswordResetRequested,
    {**_LINK, "reason": "lockout", "sealed_link": _SEALED_EXAMPLE},
    "a login was locked by failures, or a reset was asked (by its owner or by staff): email a single-use link",
)


class PersonalDataErased(Schema):
    """The national admin erased a cooperative's people: every service replaces the names
    and mailboxes it holds about them with « anonymisé », keeps amounts and codes."""

    cooperative = fields.String(required=True)  # the number: an identifier, never erased
    department = fields.String(required=True)
    requested_by = fields.String(required=True)


class RetentionDue(Schema):
    """The daily run: what each service holds about the department longer than its
    retention is removed (or its body blanked) by that service."""

    department = fields.String(required=True)
    signin_months = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    email_months = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    accounting_years = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    day = Day(required=True)


PERSONAL_DATA_ERASED = Contract(
    "cooperative.personal_data_erased", 1, PersonalDataErased,
    {"cooperative": "0382296P00", "department": "38", "requested_by": "admin"},
    "the national admin erased a cooperative's people: names and mailboxes become « anonymisé » everywhere",
)
RETENTION_DUE = Contract(
    "department.retention_due", 1, RetentionDue,
    {"department": "38", "signin_months": 12, "email_months": 13, "accounting_years": 10, "day": "2026-09-01"},
    "the daily retention run: each service removes what it holds beyond the department's retention",
)
COOPERATIVE_ACTIVE_CHANGED = Contract(
    "cooperative.active_changed", 1, ActiveChanged,
    {"cooperative": COOPERATIVE_EXAMPLE, "active": False, "changed_at": "2025-09-20T08:30:00+00:00"},
    "staff deactivated a cooperative, or activated it again: a reminder queued for it is not sent while inactive",
)
