"""marshmallow schemas of the payment service: the one definition of its input
validation, its output shape and its OpenAPI document."""
from datetime import date
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from services.payment import domain
from shared.fields import Money, StrictBoolean, StrictSchema, Text
from shared.identifiers import NUMBER_RE, is_valid_year
from shared.schemas import CooperativeYearOut, item_list

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
    id = fields.Integer()
    cooperative = fields.String()
    year = fields.String()
    department = fields.String()
    amount = Money()
    method = fields.String()
    reference = fields.String()
    received_on = fields.Date()
    recorded_by = fields.String()
    created_at = fields.DateTime()
    reverses_id = fields.Integer(allow_none=True)
    reason = fields.String()
    statement_line_id = fields.Integer(allow_none=True)


class DuesOut(CooperativeYearOut):
    amount_due = Money()
    amount_paid = Money()
    balance = Money()
    status = fields.String(metadata={"enum": list(domain.STATUSES)})
    payments_count = fields.Integer()
    methods = fields.List(fields.String())
    reference = fields.String(metadata={"description": "ISO 11649 payment reference (RF…)"})
    reference_display = fields.String()
    validated = fields.Boolean()
    attention = fields.String()


class PaymentRecorded(Schema):
    payment = fields.Nested(PaymentOut)
    dues = fields.Nested(DuesOut)


PaymentList = item_list(PaymentOut)


class PaymentFilter(StrictSchema):
    cooperative = fields.String(**NUMBER_FIELD)
    year = fields.String(validate=_check_year)


class ReversalIn(StrictSchema):
    reason = Text(required=True, validate=validate.Length(min=1, max=500))
    amount = Money(minimum="0.01", load_default=None)


class StatementOut(Schema):
    id = fields.Integer()
    format = fields.String()
    layout = fields.String()
    filename = fields.String()
    account = fields.String()
    lines = fields.Integer()
    new_lines = fields.Integer()
    duplicates = fields.Integer()
    confirmed = fields.Integer()
    imported_at = fields.DateTime()
    imported_by = fields.String()


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
    id = fields.Integer()
    slip = fields.Integer()
    payment = fields.Integer()
    cooperative = fields.String()
    year = fields.String()
    amount = Money()
    cheque_number = fields.String()
    bank = fields.String()
    drawer = fields.String()
    dues = fields.Nested(DuesOut)


class SlipOut(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String(metadata={"enum": ["open", "closed", "banked"]})
    account = fields.String()
    count = fields.Integer()
    total = Money()
    created_at = fields.DateTime()
    closed_at = fields.DateTime(allow_none=True)
    created_by = fields.String()
    cheques = fields.List(fields.Nested(ChequeOut))


SlipList = item_list(SlipOut)
