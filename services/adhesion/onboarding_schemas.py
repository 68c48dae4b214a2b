"""marshmallow schemas of departments, staff, bulk onboarding, password links and the
campaign (SPEC §8)."""
from marshmallow import Schema, ValidationError, fields, validate, validates

from services.adhesion.domain import STATUSES
from services.adhesion.schemas import DEPARTMENT_CONTACT, CooperativeOut
from shared.fields import EmailAddress, Money, StrictBoolean, StrictSchema, Text
from shared.schemas import department_field, item_list, staff_login_field

DEPARTMENT_RE = r"(?:[0-9]{2,3}|2[AB])\Z"  # 38, 974, and Corsica's 2A / 2B
IBAN_RE = r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$"
BIC_RE = r"^[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$"


def iban_ok(iban: str) -> bool:
    """ISO 13616: the rearranged IBAN, letters as numbers, is 1 modulo 97."""
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


class DepartmentIn(StrictSchema):
    number = fields.String(required=True, validate=validate.Regexp(DEPARTMENT_RE, error="Numéro de département : 38, 974, 2A…"))
    name = Text(required=True, validate=validate.Length(1, 200))
    insurer = Text(load_default="", validate=validate.Length(max=200))
    contract = Text(load_default="", validate=validate.Length(max=100))
    sender_name = Text(load_default="", validate=validate.Length(max=200))


class DepartmentSettingsIn(StrictSchema):
    """What a department's staff set on their association (every field optional)."""

    name = Text(validate=validate.Length(1, 200))
    insurer = Text(validate=validate.Length(max=200))
    contract = Text(validate=validate.Length(max=100))
    sender_name = Text(validate=validate.Length(max=200))
    address = Text(validate=validate.Length(max=500))
    phone = Text(validate=validate.Length(max=50))
    email = fields.String(validate=validate.Length(max=254))
    payee = Text(validate=validate.Length(max=200))
    iban = fields.String(validate=validate.Length(max=34))
    bic = fields.String(validate=validate.Length(max=11))

    @validates("email")
    def email_or_empty(self, value, **kwargs):
        if value:
            EmailAddress().deserialize(value)

    @validates("iban")
    def iban_valid(self, value, **kwargs):
        compact = value.replace(" ", "").upper()
        if compact and not (validate.Regexp(IBAN_RE).regex.match(compact) and iban_ok(compact)):
            raise ValidationError("IBAN invalide (clé de contrôle).")

    @validates("bic")
    def bic_valid(self, value, **kwargs):
        if value and not validate.Regexp(BIC_RE).regex.match(value.strip().upper()):
            raise ValidationError("BIC invalide (8 ou 11 caractères).")


class DepartmentOut(Schema):
    number = fields.String(attribute="code")
    name = fields.String()
    insurer = fields.String()
    contract = fields.String(attribute="insurer_contract")

    class Meta:
        include = {name: fields.String() for name in DEPARTMENT_CONTACT}


DepartmentList = item_list(DepartmentOut)


class StaffIn(StrictSchema):
    login = fields.String(required=True, validate=validate.Regexp(r"[A-Za-z0-9._@-]{3,100}\Z",
                                                                  error="3 à 100 caractères : lettres, chiffres, . _ @ -"))
    password = fields.String(required=True, load_only=True, validate=validate.Length(8, 200))
    department = fields.String(required=True, validate=validate.Regexp(DEPARTMENT_RE, error="Numéro de département."))
    email = EmailAddress(required=True)


class StaffOut(Schema):
    login = fields.String(metadata={"description": "The staff member's login"})
    role = fields.String(metadata={"description": "Always staff here"})
    department = department_field()
    email = fields.String(metadata={"description": "Their own mailbox"})
    national = fields.Boolean(metadata={"description": "True for the national administrator (the first account)"})


StaffList = item_list(StaffOut)


class ImportQuery(StrictSchema):
    dry_run = fields.Boolean(load_default=False)


class ImportError_(Schema):
    line = fields.Integer(metadata={"description": "Line of the CSV file (the header is line 1)"})
    field = fields.String(metadata={"description": "The column at fault; file, header or line when it is the whole file or line"})
    message = fields.String(metadata={"description": "What is wrong, in French"})


class ImportOut(Schema):
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    errors = fields.List(fields.Nested(ImportError_))
    dry_run = fields.Boolean()
    rows = fields.List(fields.Dict())  # each line read and what it does: the page's preview


class CooperativeQuery(StrictSchema):
    q = fields.String(validate=validate.Length(max=100))
    year = fields.String(validate=validate.Regexp(r"[0-9]{4}-[0-9]{4}\Z", error="Année au format 2025-2026."))
    page = fields.Integer(validate=validate.Range(1, 10000))
    per_page = fields.Integer(validate=validate.Range(1, 500))
    sort = fields.String(validate=validate.OneOf(("number", "name", "town", "status", "date")))
    active = fields.Boolean()
    status = fields.String(validate=validate.OneOf(STATUSES + ("not_started",)))


class CooperativeRow(CooperativeOut):
    active = fields.Boolean()
    status = fields.String()
    submitted_at = fields.DateTime(allow_none=True)
    cooperators = fields.Integer()
    due = Money(maximum="100000000")
    paid = Money(maximum="100000000")


class CooperativeTotals(Schema):
    cooperators = fields.Integer()
    due = Money(maximum="1000000000")
    paid = Money(maximum="1000000000")


class CooperativePage(Schema):
    items = fields.List(fields.Nested(CooperativeRow))
    total = fields.Integer()
    page = fields.Integer()
    pages = fields.Integer()
    per_page = fields.Integer()
    totals = fields.Nested(CooperativeTotals)


class CooperativePatch(StrictSchema):
    name = Text(validate=validate.Length(1, 200))
    town = Text(validate=validate.Length(1, 100))
    email = EmailAddress()
    active = StrictBoolean()


class CooperativeChangeOut(Schema):
    field = fields.String(metadata={"description": "What changed: email or active"})
    old = fields.String(metadata={"description": "Value before"})
    new = fields.String(metadata={"description": "Value after"})
    by = staff_login_field("changed it")
    at = fields.DateTime(metadata={"description": "When"})


class CooperativeDetail(CooperativeOut):
    active = fields.Boolean()
    changes = fields.List(fields.Nested(CooperativeChangeOut))


class ResetIn(StrictSchema):
    login = fields.String(required=True, validate=validate.Length(1, 100))


class Accepted(Schema):
    status = fields.String(metadata={"description": "Always accepted: the link, if any, goes by email"})


class Daily(Schema):
    date = fields.Date(metadata={"description": "A day of the renewal window"})
    submitted = fields.Integer(metadata={"description": "Adhesions submitted that day"})
    validated = fields.Integer(metadata={"description": "Adhesions validated that day"})
    submitted_total = fields.Integer(metadata={"description": "Submitted since the window opened"})
    validated_total = fields.Integer(metadata={"description": "Validated since the window opened"})


class StatsOut(Schema):
    year = fields.String()
    cooperatives = fields.Integer()
    not_started = fields.Integer()
    by_status = fields.Dict(keys=fields.String(), values=fields.Integer())
    late = fields.Integer()
    validated = fields.Integer()
    unpaid = fields.Integer()
    cooperators = fields.Integer()
    daily = fields.List(fields.Nested(Daily))
    reminders = fields.List(fields.Dict())


class ExportQuery(StrictSchema):
    year = fields.String(required=True, validate=validate.Regexp(r"[0-9]{4}-[0-9]{4}\Z", error="Année au format 2025-2026."))


class ScheduleIn(StrictSchema):
    dates = fields.List(fields.Date(), required=True, validate=validate.Length(max=20))


class ScheduleItem(Schema):
    date = fields.Date(attribute="day")
    round = fields.Integer(allow_none=True)
    sent_at = fields.DateTime(allow_none=True)
    count = fields.Integer(allow_none=True)


class ScheduleOut(Schema):
    items = fields.List(fields.Nested(ScheduleItem))
