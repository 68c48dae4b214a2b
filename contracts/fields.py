"""Field types shared by the contracts: money travels as an exact decimal string and is
read as a Decimal; moments travel as ISO 8601 with their offset and are read as aware
datetimes."""
import re
from datetime import date, datetime
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate

MONEY = r"-?\d+\.\d{2}\Z"
_MONEY = re.compile(MONEY)
CENT = Decimal("0.01")


class Money(fields.Field):
    """An exact amount: ``"439.25"`` on the wire, ``Decimal("439.25")`` once loaded."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", True)
        super().__init__(**kwargs)

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else str(Decimal(value).quantize(CENT))

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, Decimal) and value.is_finite() and value == value.quantize(CENT):
            return value.quantize(CENT)  # a consumer passing on what it loaded
        if not isinstance(value, str) or not _MONEY.match(value):
            raise ValidationError("An amount with cents, as a string: \"439.25\".")
        return Decimal(value)


class Moment(fields.AwareDateTime):
    """An aware ISO 8601 moment: ``"2025-09-15T08:30:00+00:00"``; loaded as a datetime."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", True)
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value
        return super()._deserialize(value, attr, data, **kwargs)


class Day(fields.Date):
    """An ISO date: ``"2025-09-12"``; loaded as a date."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        return super()._deserialize(value, attr, data, **kwargs)


class Year(fields.String):
    """A school year: ``"2025-2026"``."""

    def __init__(self, **kwargs):
        super().__init__(required=True, validate=validate.Regexp(r"\d{4}-\d{4}\Z"), **kwargs)


# A cooperative as every event and the adhesion API give it.
COOPERATIVE_PARTS = ("number", "name", "town", "email", "department")

CooperativeRef = Schema.from_dict({part: fields.String(required=True) for part in COOPERATIVE_PARTS},
                                  name="CooperativeRef")


class DepartmentRef(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    insurer = fields.String(required=True)
    insurer_contract = fields.String(required=True, allow_none=True)
    # the association's identity and contact block, for pages, PDFs and emails (may be empty)
    sender_name = fields.String()
    address = fields.String()
    phone = fields.String()
    email = fields.String()
    # how schools pay it (adhesion.submitted carries them: the « saisie reçue » says how to pay)
    payee = fields.String()
    iban = fields.String()
    bic = fields.String()


# The parts of an adhesion's figures, in the order its events and its API give them.
AMOUNT_PARTS = ("membership", "insurance", "goods", "instruments", "total")
TOTAL_PARTS = ("teachers", "students", "cooperators")

AmountsRef = Schema.from_dict({part: Money() for part in AMOUNT_PARTS}, name="AmountsRef")
TotalsRef = Schema.from_dict({part: fields.Integer(required=True, strict=True) for part in TOTAL_PARTS},
                             name="TotalsRef")


COOPERATIVE_EXAMPLE = {
    "number": "0382296P00", "name": "Coopérative Scolaire de l'École Élémentaire Jean Moulin", "town": "VIENNE",
    "email": "ce.0382296p@ac-grenoble.fr", "department": "38",
}
DEPARTMENT_EXAMPLE = {"code": "38", "name": "OCCE de l'Isère", "insurer": "MAE – MAIF", "insurer_contract": "",
                      "sender_name": "OCCE 38", "address": "", "phone": "", "email": ""}
# The guide's worked example: 10 teachers and 165 pupils, insured → 439,25 €.
AMOUNTS_EXAMPLE = {"membership": "395.50", "insurance": "43.75", "goods": "0.00", "instruments": "0.00",
                   "total": "439.25"}
TOTALS_EXAMPLE = {"teachers": 10, "students": 165, "cooperators": 175}
