"""marshmallow schemas of the ledger service: the one definition of its input
validation, its output shape and its OpenAPI document."""
import re

from marshmallow import Schema, ValidationError, fields, validate

from services.ledger import domain, yearend
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
    payer = Text(load_default="", allow_none=True, validate=validate.Length(max=200), metadata={
        "description": "Who gave a subsidy (an income on a 74… account): commune, département, État…"})


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


def _check_chart_code(value: str) -> None:
    if problem := yearend.chart_code_problem(value):
        raise ValidationError(problem)


class CategoryIn(StrictSchema):
    code = fields.String(required=True, validate=_check_chart_code)
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
    payer = fields.String(metadata={"description": "Who gave a subsidy (74…), else empty"})
    pointed_on = fields.Date(allow_none=True, metadata={"description": "Day seen on the bank statement; null: not pointed"})


class AccountsOut(Schema):
    bank = Money(minimum="-100000000", maximum="100000000")
    cash = Money(minimum="-100000000", maximum="100000000")


class BookOut(CooperativeYearOut):
    exercise = fields.Dict(keys=fields.String(), values=fields.Date())
    opening = fields.Nested(AccountsOut)
    opening_carried = fields.Boolean(metadata={"description": "The opening is the previous exercise's closing"})
    closed = fields.Boolean(metadata={"description": "The exercise is closed: no new entry"})
    closed_at = fields.DateTime(allow_none=True)
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
    kind = fields.String(allow_none=True, metadata={"enum": [yearend.CHARGE, yearend.PRODUIT],
                                                    "description": "charge (6…) or produit (7…)"})
    subsidy = fields.Boolean(metadata={"description": "A 74… account: its income entries name the payer"})
    department = fields.String(metadata={"description": "vide pour les comptes de l'OCCE communs à tous"})


CategoryList = item_list(CategoryOut)


# -- the year's end -------------------------------------------------------------------------

class ImportQuery(StrictSchema):
    dry_run = fields.Boolean(load_default=False)


    rows = fields.List(fields.Dict(), metadata={"description": "Each line read and what it does"})


class PointageIn(StrictSchema):
    on = fields.Date(required=True, metadata={"description": "Day the entry appears on the bank statement"})


class StatementLineOut(Schema):
    id = id_field("statement line")
    booked_on = fields.Date()
    amount = Money(minimum="-1000000000000", maximum="1000000000000")
    label = fields.String()
    cheque_number = fields.String()


class ProposalOut(Schema):
    line = fields.Integer(metadata={"description": "The statement line's id"})
    entry = fields.String(metadata={"description": "The entry's piece, D… or R…"})
    statement_line = fields.Nested(StatementLineOut)
    book_entry = fields.Nested(EntryOut)


class StatementImportOut(Schema):
    format = fields.String()
    lines = fields.Integer(metadata={"description": "Booked lines read from the file"})
    proposals = fields.List(fields.Nested(ProposalOut))
    unpaired = fields.List(fields.Nested(StatementLineOut), metadata={"description": "Lines with no entry to pair"})


class PairIn(StrictSchema):
    line = fields.Integer(required=True, strict=True, validate=validate.Range(1, 2**31 - 1))
    entry = fields.String(required=True, validate=validate.Regexp(r"[DR][0-9]{2,6}\Z"))


class ConfirmIn(StrictSchema):
    pairs = fields.List(fields.Nested(PairIn), required=True, validate=validate.Length(min=1, max=2000))


class ConfirmOut(Schema):
    pointed = fields.Integer()


def _check_counted(value: dict) -> None:
    problems, seen = {}, {}
    for key, count in value.items():
        if not isinstance(key, str) or yearend.denomination(key) is None:
            problems[str(key)] = ["Coupure inconnue : billets de 500 à 5 €, pièces de 2 € à 1 centime (ex. « 0.20 »)."]
        elif (same := seen.setdefault(yearend.denomination(key), key)) != key:  # "50" and "50.00": one count lost
            problems[key] = [f"Même coupure que « {same} » : comptez-la une seule fois."]
        elif not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= yearend.MAX_PIECES:
            problems[key] = [f"Un nombre entier de 0 à {yearend.MAX_PIECES}."]
    if problems:
        raise ValidationError(problems)


class CashCountIn(StrictSchema):
    date = fields.Date(required=True)
    counted = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True, validate=_check_counted,
                          metadata={"description": '{"50.00": 1, "0.20": 3}: pieces counted by denomination'})


class CashCountOut(Schema):
    date = fields.Date()
    counted = fields.Dict(keys=fields.String(), values=fields.Integer())
    total = Money(minimum="-100000000", maximum="100000000")
    book_cash = Money(minimum="-100000000", maximum="100000000")
    difference = Money(minimum="-100000000", maximum="100000000")


class CloseIn(StrictSchema):
    statement_balance = Money(load_default=None, allow_none=True, minimum="-100000000", maximum="100000000",
                              metadata={"description": "The bank statement's balance at 31 August"})


class ClosingOut(Schema):
    bank = Money(minimum="-100000000", maximum="100000000")
    cash = Money(minimum="-100000000", maximum="100000000")
    result = Money(minimum="-100000000", maximum="100000000")
    closed_at = fields.DateTime()


class MandataireIn(StrictSchema):
    name = Text(required=True, validate=validate.Length(min=1, max=100))
    date = fields.Date(required=True)


class VerifierIn(MandataireIn):
    quality = fields.String(required=True, validate=validate.OneOf(yearend.VERIFIER_QUALITIES))


class QuitusIn(StrictSchema):
    mandataire = fields.Nested(MandataireIn, required=True)
    verifiers = fields.List(fields.Nested(VerifierIn), required=True, validate=validate.Length(
        min=2, max=2, error="Deux vérificateurs aux comptes sont nécessaires."))


class QuitusOut(Schema):
    mandataire = fields.Dict(metadata={"description": "{name, date}"})
    verifiers = fields.List(fields.Dict(), metadata={"description": "[{name, quality, date}] ×2"})


class AttachmentOut(Schema):
    media_type = fields.String()
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_at = fields.DateTime()


class CrfAccountOut(Schema):
    code = fields.String()
    label = fields.String()
    amount = Money(minimum="-100000000", maximum="100000000")


class OutstandingOut(Schema):
    piece = fields.String()
    date = fields.Date()
    label = fields.String()
    direction = fields.String()
    amount = Money()


class SubsidyOut(Schema):
    date = fields.Date()
    payer = fields.String()
    label = fields.String()
    piece = fields.String()
    amount = Money()


class CrfOut(CooperativeYearOut):
    name = fields.String()
    town = fields.String()
    department = fields.String()
    status = fields.String(metadata={"enum": list(yearend.CRF_STATUSES)})
    closed = fields.Boolean()
    closed_at = fields.DateTime(allow_none=True)
    charges = fields.List(fields.Nested(CrfAccountOut))
    produits = fields.List(fields.Nested(CrfAccountOut))
    total_charges = Money(minimum="-100000000", maximum="100000000")
    total_produits = Money(minimum="-100000000", maximum="100000000")
    result = Money(minimum="-100000000", maximum="100000000")
    opening = fields.Nested(AccountsOut)
    closing = fields.Nested(AccountsOut)
    statement_balance = Money(allow_none=True, minimum="-100000000", maximum="100000000")
    outstanding = fields.List(fields.Nested(OutstandingOut))
    subsidies = fields.List(fields.Nested(SubsidyOut))
    cash_count = fields.Nested(CashCountOut, allow_none=True)
    quitus = fields.Dict(allow_none=True)
    statement_attached = fields.Boolean()
    deadline = fields.Date(allow_none=True)
    late = fields.Boolean()
    submitted_at = fields.DateTime(allow_none=True)
    message = fields.String(metadata={"description": "The staff's message when the CRF was returned"})


class ReturnIn(StrictSchema):
    message = Text(multiline=True, required=True, validate=validate.Length(min=1, max=2000))


class CampaignQuery(StrictSchema):
    status = fields.String(validate=validate.OneOf(yearend.CRF_STATUSES))
    late = fields.Boolean()


class CampaignItemOut(Schema):
    cooperative = fields.String()
    name = fields.String()
    town = fields.String()
    status = fields.String(metadata={"enum": list(yearend.CRF_STATUSES)})
    late = fields.Boolean()
    result = Money(allow_none=True, minimum="-100000000", maximum="100000000")
    closing = fields.Nested(AccountsOut, allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)


class CampaignOut(Schema):
    year = fields.String()
    deadline = fields.Date()
    items = fields.List(fields.Nested(CampaignItemOut))
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


MONTH_DAY = r"(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])\Z"


class SettingsIn(StrictSchema):
    crf_deadline = fields.String(required=True, validate=validate.Regexp(
        MONTH_DAY, error="Date limite au format MM-JJ, ex. 09-30."))
    crf_reminder_dates = fields.List(fields.String(validate=validate.Regexp(
        MONTH_DAY, error="Date au format MM-JJ, ex. 09-20.")), validate=validate.Length(max=10))


class SettingsOut(Schema):
    crf_deadline = fields.String(metadata={"description": "MM-DD after the exercise's end; 09-30 by default"})
    crf_reminder_dates = fields.List(fields.String(), metadata={
        "description": "MM-DD days of the reminder rounds, sent by Celery beat"})


class ReminderIn(StrictSchema):
    round = fields.Integer(strict=True, validate=validate.Range(1, 1000), metadata={
        "description": "Send this round again (nothing twice); a new round when omitted"})


class ReminderOut(Schema):
    round = fields.Integer()
    sent = fields.Integer()
