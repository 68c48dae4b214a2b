"""marshmallow schemas of the ledger service: the one definition of its input
validation, its output shape and its OpenAPI document."""
import re

from marshmallow import Schema, ValidationError, fields, validate

from services.ledger import domain
from shared.fields import Money, StrictSchema, Text
from shared.schemas import CooperativeYearOut, id_field, item_list

CATEGORY_RE = re.compile(r"[1-7][0-9]{2,9}")  # an account of the chart: class 1 to 7, 3 to 10 digits


def _check_category_code(value: str) -> None:
    if not CATEGORY_RE.fullmatch(value):
        raise ValidationError("Numéro de compte : 3 à 10 chiffres, commençant par 1 à 7 (ex. 62810008).")


class OpeningIn(StrictSchema):
    bank = Money(required=True, minimum="-1000000.00")
    cash = Money(required=True, minimum="-1000000.00")


class AllocationIn(StrictSchema):
    category = fields.String(required=True, validate=_check_category_code)
    amount = Money(required=True, minimum="0.01")


class EntryIn(StrictSchema):
    date = fields.Date(required=True)
    label = Text(required=True, validate=validate.Length(max=200))
    direction = fields.String(required=True, validate=validate.OneOf(domain.DIRECTIONS))
    account = fields.String(required=True, validate=validate.OneOf(domain.ACCOUNTS))
    method = fields.String(required=True, validate=validate.OneOf(domain.METHODS))
    cheque_number = Text(load_default="", allow_none=True, validate=validate.Length(max=30))
    voucher = Text(load_default="", allow_none=True, validate=validate.Length(max=30))
    amount = Money(required=True, minimum="0.01")
    allocations = fields.List(fields.Nested(AllocationIn), required=True, validate=validate.Length(
        min=1, max=20, error="Entre 1 et 20 lignes de ventilation."))


class AdhesionLineIn(StrictSchema):
    """One payment of the adhesion, written as its own line (so the pointage finds it)."""

    date = fields.Date(required=True)
    amount = Money(required=True, minimum="0.01")
    account = fields.String(validate=validate.OneOf(domain.ACCOUNTS))
    method = fields.String(required=True, validate=validate.OneOf(domain.METHODS))
    cheque_number = Text(load_default="", allow_none=True, validate=validate.Length(max=30))


class AdhesionEntryIn(StrictSchema):
    """What the school adds to the proposal; everything else comes from the validation.
    ``lines``: one line per payment (adding up to the amount) instead of one entry."""

    date = fields.Date()
    account = fields.String(validate=validate.OneOf(domain.ACCOUNTS))
    method = fields.String(validate=validate.OneOf(domain.METHODS))
    cheque_number = Text(load_default="", allow_none=True, validate=validate.Length(max=30))
    voucher = Text(load_default="", allow_none=True, validate=validate.Length(max=30))
    lines = fields.List(fields.Nested(AdhesionLineIn), validate=validate.Length(
        min=1, max=10, error="Entre 1 et 10 paiements."))


class CategoryIn(StrictSchema):
    code = fields.String(required=True, validate=_check_category_code)
    label = Text(required=True, validate=validate.Length(max=100))


class AllocationOut(Schema):
    category = fields.String(metadata={"description": "Account of the chart, e.g. 62810008"})
    label = fields.String(metadata={"description": "That account's label in the department's chart"})
    amount = Money(metadata={"description": "Part of the entry's amount booked to it"})


class EntryOut(Schema):
    id = id_field("entry")
    piece = fields.String(metadata={"description": "Voucher number in the book: D… for an expense, R… for an income"})
    date = fields.Date(metadata={"description": "Day of the operation"})
    label = fields.String(metadata={"description": "What the operation is"})
    direction = fields.String(metadata={"enum": list(domain.DIRECTIONS)})
    account = fields.String(metadata={"enum": list(domain.ACCOUNTS)})
    method = fields.String()
    cheque_number = fields.String()
    voucher = fields.String()
    amount = Money()
    allocations = fields.List(fields.Nested(AllocationOut))
    adhesion = fields.Boolean()


class AccountsOut(Schema):
    bank = Money(minimum="-100000000", maximum="100000000")
    cash = Money(minimum="-100000000", maximum="100000000")


class BookOut(CooperativeYearOut):
    exercise = fields.Dict(keys=fields.String(), values=fields.Date())
    opening = fields.Nested(AccountsOut)
    entries = fields.List(fields.Nested(EntryOut))
    balance = fields.Nested(AccountsOut)
    empty = fields.Boolean()


class AdhesionEntryOut(CooperativeYearOut):
    registration_code = fields.String(metadata={"description": "The validated adhesion's code, YY/NNNN A"})
    label = fields.String(metadata={"description": "The entry's label"})
    amount = Money(metadata={"description": "Amount paid for the adhesion"})
    allocations = fields.List(fields.Nested(AllocationOut), metadata={
        "description": "Split between the membership and insurance accounts"})
    method = fields.String(metadata={"description": "How the adhesion was paid"})
    account = fields.String(metadata={"description": "bank or cash: the side of the book it goes to"})
    date = fields.Date(metadata={"description": "Day of the entry (proposed, or as written)"})
    first_entry = fields.Boolean(metadata={"description": "True when the book has no entry yet"})
    written = fields.Boolean(metadata={"description": "True once the school wrote it in its book"})
    piece = fields.String(allow_none=True, metadata={"description": "Its voucher number once written, else null"})


class CategoryOut(Schema):
    code = fields.String()
    label = fields.String()
    department = fields.String(metadata={"description": "vide pour les comptes de l'OCCE communs à tous"})


CategoryList = item_list(CategoryOut)
