"""marshmallow schemas of the payment service: the one definition of its input
validation, its output shape and its OpenAPI document."""
from datetime import date

from marshmallow import Schema, ValidationError, fields, validate, validates

from services.payment import domain
from shared.fields import Money, StrictSchema
from shared.identifiers import NUMBER_RE, is_valid_year

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


class DuesOut(Schema):
    cooperative = fields.String()
    year = fields.String()
    amount_due = Money()
    amount_paid = Money()
    balance = Money()
    status = fields.String(metadata={"enum": list(domain.STATUSES)})
    payments_count = fields.Integer()
    methods = fields.List(fields.String())


class PaymentRecorded(Schema):
    payment = fields.Nested(PaymentOut)
    dues = fields.Nested(DuesOut)


class PaymentList(Schema):
    items = fields.List(fields.Nested(PaymentOut))


class PaymentFilter(StrictSchema):
    cooperative = fields.String(**NUMBER_FIELD)
    year = fields.String(validate=_check_year)
