"""Field types shared by the contracts: money travels as an exact decimal string."""
from marshmallow import Schema, fields, validate

MONEY = r"-?\d+\.\d{2}\Z"


class Money(fields.String):
    """An exact amount as a decimal string with cents: ``"439.25"``."""

    def __init__(self, **kwargs):
        super().__init__(required=True, validate=validate.Regexp(MONEY), **kwargs)


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
