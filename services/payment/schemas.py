"""marshmallow schemas of the payment service: the one definition of its input
validation, its output shape and its OpenAPI document."""
from datetime import date
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from services.payment import domain
from shared.fields import Money, StrictBoolean, StrictSchema, Text
from shared.identifiers import NUMBER_RE, is_valid_year
from shared.schemas import (
    CooperativeYearOut,
    cooperative_field,
    department_field,
    id_field,
    item_list,
    staff_login_field,
    year_field,
)

NUMBER_FIELD = dict(validate=validate.Regexp(NUMBER_RE, error="6 à 16 caractères A–Z et 0–9 (UAI + compte)."))
YEAR_MESSAGE = "Année scolaire au format 2025-2026."


def _check_year(value: str) -> None:
    if not is_valid_year(value):
        raise ValidationError(YEAR_MESSAGE)


class PaymentIn(StrictSchema):
    cooperative = fields.String(required=True, **NUMBER_FIELD)
    year = fields.String(required=True, validate=_check_year)
    amount = Money(required=True, minimum="0.01")
    method = fields.String(required=True, validate=validate.OneOf(domain.METHODS))
    reference = fields.String(load_default="", allow_none=True, validate=validate.Length(max=100))
    received_on = fields.Date(required=True)

    @validates("received_on")
    def not_in_the_future(self, value: date, **kwargs):
        if value > date.today():
            raise ValidationError("La date de réception ne peut pas être dans le futur.")


class PaymentOut(Schema):
    id = id_field("payment")
    cooperative = cooperative_field()
    year = year_field()
    department = department_field()
    amount = Money(metadata={"description": "Amount received; negative on a reversal"})
    method = fields.String(metadata={"description": "How it was paid: cheque, transfer, direct_debit, cash, …"})
    reference = fields.String(metadata={"description": "Cheque number or bank reference given when recorded"})
    received_on = fields.Date(metadata={"description": "Day the department received it"})
    recorded_by = staff_login_field("recorded it")
    created_at = fields.DateTime(metadata={"description": "When it was recorded"})
    reverses_id = fields.Integer(allow_none=True, metadata={"description": "The payment a reversal cancels"})
    reason = fields.String(metadata={"description": "Why it was reversed (a reversal only)"})
    statement_line_id = fields.Integer(allow_none=True, metadata={
        "description": "The bank statement line it was confirmed from"})


class DuesOut(CooperativeYearOut):
    # the contract's four keys (docs/http.md §4): required in the document, so an answer
    # without one fails the response-schema check
    amount_due = Money(required=True)
    amount_paid = Money(required=True)
    balance = Money(required=True)
    status = fields.String(required=True, metadata={"enum": list(domain.STATUSES)})
    payments_count = fields.Integer()
    methods = fields.List(fields.String())
    reference = fields.String(metadata={"description": "ISO 11649 payment reference (RF…)"})
    reference_display = fields.String()
    validated = fields.Boolean()
    attention = fields.String()
    debit_rejected = fields.String(metadata={"description": "« Provision insuffisante »…: the latest direct debit was returned"})


class PaymentRecorded(Schema):
    payment = fields.Nested(PaymentOut)
    dues = fields.Nested(DuesOut)


PaymentList = item_list(PaymentOut)


class ReceivedOut(Schema):
    amount = Money(metadata={"description": "Amount of the payment still standing (less its reversals)"})
    method = fields.String(metadata={"description": "How it was paid: cheque, transfer, direct_debit, …"})
    reference = fields.String(metadata={"description": "Cheque number or bank reference"})
    received_on = fields.Date(metadata={"description": "Day the department received it"})


ReceivedList = item_list(ReceivedOut)


class PaymentFilter(StrictSchema):
    cooperative = fields.String(**NUMBER_FIELD)
    year = fields.String(validate=_check_year)


class ReversalIn(StrictSchema):
    reason = Text(required=True, validate=validate.Length(min=1, max=500))
    amount = Money(minimum="0.01", load_default=None)


class StatementOut(Schema):
    id = id_field("statement")
    format = fields.String(metadata={"description": "File format found: camt.053, ofx, cfonb120 or csv"})
    layout = fields.String(metadata={"description": "The bank's CSV layout recognised (empty for other formats)"})
    filename = fields.String(metadata={"description": "Name of the uploaded file"})
    account = fields.String(metadata={"description": "Bank account the statement is about, as the file gives it"})
    lines = fields.Integer(metadata={"description": "Lines read in the file"})
    new_lines = fields.Integer(metadata={"description": "Lines kept (not already imported)"})
    duplicates = fields.Integer(metadata={"description": "Lines skipped: already imported"})
    confirmed = fields.Integer(metadata={"description": "Lines confirmed as payments so far (listing only)"})
    imported_at = fields.DateTime(metadata={"description": "When it was imported"})
    imported_by = staff_login_field("imported it")


StatementList = item_list(StatementOut)


class AllocationIn(StrictSchema):
    cooperative = fields.String(required=True, **NUMBER_FIELD)
    year = fields.String(required=True, validate=_check_year)
    amount = Money(required=True, minimum="0.01")


class Allocation(CooperativeYearOut):
    amount = Money()


class Suggestion(CooperativeYearOut):
    name = fields.String()
    slip = fields.Integer()
    number = fields.String()
    amount = Money()
    score = fields.Float()
    reasons = fields.List(fields.String())
    split = fields.List(fields.Nested(Allocation))


class LineOut(Schema):
    id = fields.Integer()
    statement = fields.Integer()
    booked_on = fields.Date()
    amount = Money()
    label = fields.String()
    payer = fields.String()
    payer_iban = fields.String()
    bank_ref = fields.String()
    status = fields.String(metadata={"enum": ["unmatched", "suggested", "confirmed", "ignored"]})
    suggestions = fields.List(fields.Nested(Suggestion))
    payments = fields.List(fields.Nested(PaymentOut))
    slip = fields.Dict()
    decided_by = fields.String()
    decided_at = fields.DateTime(allow_none=True)


LineList = item_list(LineOut)


class ConfirmIn(StrictSchema):
    allocations = fields.List(fields.Nested(AllocationIn), validate=validate.Length(min=1, max=50))
    slip = fields.Integer(strict=True, validate=validate.Range(min=1, max=2147483647))

    @validates_schema
    def one_of(self, data, **kwargs):
        if ("allocations" in data) == ("slip" in data):
            raise ValidationError("Indiquez soit « allocations », soit « slip ».", "_schema")


def _score_threshold(value: Decimal) -> None:
    if not Decimal("0.5") <= value <= 1:
        raise ValidationError("Doit être compris entre 0,5 et 1.")


class ConfirmAllIn(StrictSchema):
    # A plain function, not validate.Range: the OpenAPI document takes its bounds as
    # numbers from the metadata (Range on a Decimal field prints them as strings).
    min_score = fields.Decimal(load_default=Decimal("0.9"), validate=_score_threshold,
                               metadata={"minimum": 0.5, "maximum": 1})


class ConfirmAllOut(Schema):
    confirmed = fields.Integer()
    skipped = fields.Integer()


class AsideIn(StrictSchema):
    aside = StrictBoolean(load_default=True)


class SlipIn(StrictSchema):
    account = fields.String(validate=validate.Length(max=64), load_default=None)


class ChequeIn(StrictSchema):
    cooperative = fields.String(required=True, **NUMBER_FIELD)
    year = fields.String(required=True, validate=_check_year)
    amount = Money(required=True, minimum="0.01")
    cheque_number = fields.String(required=True, validate=validate.Regexp(r"[0-9A-Za-z]{1,20}\Z",
                                  error="Numéro de chèque : 1 à 20 chiffres ou lettres."))
    bank = Text(load_default="", validate=validate.Length(max=100))
    drawer = Text(load_default="", validate=validate.Length(max=200))


class ChequeOut(Schema):
    id = id_field("cheque")
    slip = fields.Integer(metadata={"description": "The paying-in slip it is on (when just added)"})
    payment = fields.Integer(metadata={"description": "The payment recorded for it (when just added)"})
    cooperative = cooperative_field()
    year = year_field()
    amount = Money(metadata={"description": "The cheque's amount"})
    cheque_number = fields.String(metadata={"description": "Number printed on the cheque"})
    bank = fields.String(metadata={"description": "Drawee bank, as typed"})
    drawer = fields.String(metadata={"description": "Who signed the cheque, as typed"})
    # no description on a nested schema: apispec would wrap its $ref in allOf
    dues = fields.Nested(DuesOut)


class SlipOut(Schema):
    id = id_field("slip")
    number = fields.String(metadata={"description": "The slip's number, as printed"})
    status = fields.String(metadata={"enum": ["open", "closed", "banked"]})
    account = fields.String(metadata={"description": "Bank account the cheques are paid into"})
    count = fields.Integer(metadata={"description": "Number of cheques on it"})
    total = Money(metadata={"description": "Sum of its cheques"})
    created_at = fields.DateTime(metadata={"description": "When it was opened"})
    closed_at = fields.DateTime(allow_none=True, metadata={"description": "When it was closed; null while open"})
    created_by = staff_login_field("opened it")
    cheques = fields.List(fields.Nested(ChequeOut), metadata={"description": "Its cheques (a slip's own page only)"})


SlipList = item_list(SlipOut)
