"""marshmallow schemas of the adhesion service: the one definition of its input
validation, its output shape and its OpenAPI document."""
import re
from decimal import Decimal, InvalidOperation

from marshmallow import Schema, ValidationError, fields, validate, validates, validates_schema

from contracts.fields import AMOUNT_PARTS, COOPERATIVE_PARTS, TOTAL_PARTS
from services.adhesion import domain
from services.adhesion.domain import CHANGE_FORM_STATES, STATUSES
from shared.fields import Code, Count, EmailAddress, EmailAddressOrEmpty, Money, StrictBoolean, StrictSchema, Text
from shared.identifiers import NUMBER_RE, is_valid_year
from shared.schemas import ImportOut, department_field, item_list, staff_login_field


class LoginIn(StrictSchema):
    login = fields.String(required=True, validate=validate.Length(1, 100))
    password = fields.String(required=True, validate=validate.Length(1, 200))
    # The device tokens a browser got from earlier logins (space-separated): with one made
    # for this login, the right password is never throttled.
    device = fields.String(load_default=None, validate=validate.Length(max=2000))


class LoginOut(Schema):
    token = fields.String()
    role = fields.String()
    cooperative = fields.String(allow_none=True)
    department = fields.String()
    device = fields.String()
    national = fields.Boolean()  # the first account: creates departments and staff anywhere


# the rule, said when a password breaks it (marshmallow's own message is English and vague)
NEW_PASSWORD = validate.Length(8, 200, error="Le mot de passe doit compter au moins 8 caractères (200 au plus).")


class DepartmentSwitchIn(StrictSchema):
    department = fields.String(required=True, validate=validate.Regexp(r"(?:[0-9]{2,3}|2[AB])\Z",
                                                                        error="Numéro de département."))


class PasswordChangeIn(StrictSchema):
    current = fields.String(required=True, validate=validate.Length(1, 200))
    new = fields.String(required=True, validate=NEW_PASSWORD)


class PasswordChangeOut(Schema):
    closed_sessions = fields.Integer()
    login = fields.String()  # after a reset link: whose password it was (the page pre-fills it)
    device = fields.String()  # after a change: this browser's device token for the new password


class PasswordResetConfirmIn(StrictSchema):
    token = fields.String(required=True, validate=validate.Length(1, 200))
    password = fields.String(required=True, validate=NEW_PASSWORD)


class CooperativeIn(StrictSchema):
    number = fields.String(
        required=True,
        validate=validate.Regexp(NUMBER_RE, error="6 à 16 caractères A–Z et 0–9 (UAI + compte)."),
    )
    name = Text(required=True, validate=validate.Length(1, 200))
    town = Text(required=True, validate=validate.Length(1, 100))
    email = EmailAddress(required=True)
    password = fields.String(required=True, load_only=True, validate=NEW_PASSWORD)
    # the national administrator confirms a number whose UAI names another department
    other_department = StrictBoolean(load_default=False, load_only=True)


CooperativeOut = Schema.from_dict({part: fields.String() for part in COOPERATIVE_PARTS}, name="CooperativeOut")


CooperativeList = item_list(CooperativeOut)


class RatesSchema(StrictSchema):
    department = fields.String(dump_only=True)
    year = fields.String(dump_only=True)
    fee_per_student = Money(places=5, maximum="1000", required=True)
    fee_per_adult = Money(places=5, maximum="1000", required=True)
    fee_per_cooperative = Money(places=5, maximum="100000", required=True)
    insurance_per_cooperator = Money(places=5, maximum="1000", required=True)
    goods_threshold = Money(places=5, maximum="1000000", required=True)
    goods_rate = Money(places=5, maximum="1", required=True)
    instruments_threshold = Money(places=5, maximum="1000000", required=True)
    instruments_rate = Money(places=5, maximum="1", required=True)
    renewal_opens = fields.Date(required=True)
    renewal_closes = fields.Date(required=True)

    @validates_schema
    def window_in_order(self, data, **kwargs):
        if data["renewal_opens"] > data["renewal_closes"]:
            raise ValidationError("La fermeture doit suivre l'ouverture.", "renewal_closes")


class RateProposalSchema(RatesSchema):
    carried_from = fields.String(allow_none=True, dump_only=True, metadata={
        "description": "The year these rates are carried over from (its window a year later); null: the year's own."})


class ClassRowSchema(StrictSchema):
    name = Text(required=True, validate=validate.Length(1, 100))
    teachers = Text(load_default="", validate=validate.Length(max=500))
    teacher_count = Count(required=True)
    student_count = Count(required=True)
    total = fields.Integer(dump_only=True)


class PaymentChoiceSchema(StrictSchema):
    transfer = StrictBoolean(load_default=False)
    cheque = StrictBoolean(load_default=False)
    other = StrictBoolean(load_default=False)
    direct_debit = StrictBoolean(load_default=False)  # « prélèvement », when the department offers it


class AdhesionIn(StrictSchema):
    classes = fields.List(fields.Nested(ClassRowSchema), required=True, validate=validate.Length(max=200))
    insurance = StrictBoolean(required=True)
    goods_value = Money(load_default=Decimal("0.00"))
    instruments_value = Money(load_default=Decimal("0.00"))
    payment = fields.Nested(PaymentChoiceSchema, load_default=lambda: {
        "transfer": False, "cheque": False, "other": False, "direct_debit": False})

    @validates_schema
    def class_names_unique(self, data, **kwargs):
        seen = set()
        for index, row in enumerate(data.get("classes", [])):
            key = domain.class_key(row["name"])
            if key in seen:
                raise ValidationError(
                    {str(index): {"name": [f"Le nom de classe « {row['name']} » est déjà utilisé."]}}, "classes"
                )
            seen.add(key)


# --- a quote: the figures as a person types them, priced without being saved -------------

TYPED_MAX_CHARS = 50  # far more than a count or an amount ever takes in the form
_BLANKS = re.compile(r"[\s€]")  # spaces of every kind (1 500 typed with a thin space) and the euro sign
_TYPED_COUNT = re.compile(r"[0-9]{1,4}", re.ASCII)
_TYPED_AMOUNT = re.compile(r"[0-9]{1,7}(?:[.,][0-9]{1,2})?", re.ASCII)
DECLARED_MAX = Decimal("1000000.00")


class _Typed(fields.Field):
    """A figure as typed in the form. A JSON number is a claim and is checked as the save
    checks it (422 outside its bounds); text is read the way the teacher means it (spaces
    and ``€`` ignored, empty is 0) and text that is not a figure in bounds reads as
    ``None``: the quote counts it as 0 and names it, while the save refuses it."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            raise ValidationError(self.invalid)
        if isinstance(value, int):
            return self.checked(value)
        if len(value) > TYPED_MAX_CHARS:
            raise ValidationError(f"Au plus {TYPED_MAX_CHARS} caractères.")
        text = _BLANKS.sub("", value)
        return self.read(text) if text else self.read("0")


class TypedCount(_Typed):
    invalid = "Nombre entier attendu (ou le texte saisi)."

    def __init__(self, **kwargs):
        super().__init__(load_default=0, metadata={
            "description": "an integer 0–5000, or the text typed (unreadable text counts as 0 and is named in "
                           "`ignored`)",
            "oneOf": [{"type": "integer", "minimum": 0, "maximum": 5000},
                      {"type": "string", "maxLength": TYPED_MAX_CHARS}],
        }, **kwargs)

    def checked(self, value: int) -> int:
        if not 0 <= value <= 5000:
            raise ValidationError("Doit être un entier entre 0 et 5000.")
        return value

    def read(self, text: str) -> int | None:
        return int(text) if _TYPED_COUNT.fullmatch(text) and int(text) <= 5000 else None


class TypedAmount(_Typed):
    invalid = "Montant attendu : le texte saisi (ex. \"1 500,00\") ou un nombre entier."

    def __init__(self, **kwargs):
        super().__init__(load_default=Decimal("0.00"), metadata={
            "description": "a declared value 0–1000000.00 as typed (\"1 500,50 €\"), or a whole number; "
                           "unreadable text counts as 0 and is named in `ignored`",
            "oneOf": [{"type": "integer", "minimum": 0, "maximum": 1000000},
                      {"type": "string", "maxLength": TYPED_MAX_CHARS}],
        }, **kwargs)

    def checked(self, value: int) -> Decimal:
        if not 0 <= value <= DECLARED_MAX:
            raise ValidationError("Doit être compris entre 0,00 € et 1 000 000,00 €.")
        return Decimal(value).quantize(Decimal("0.01"))

    def read(self, text: str) -> Decimal | None:
        if not _TYPED_AMOUNT.fullmatch(text):
            return None
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:
            return None
        return number.quantize(Decimal("0.01")) if number <= DECLARED_MAX else None


def _school_year(value: str) -> None:
    if not is_valid_year(value):
        raise ValidationError("Année scolaire invalide (format 2025-2026).")


class QuoteRowSchema(StrictSchema):
    # A row of a PUT body may come as it is: its name and teachers cost nothing.
    name = fields.String(validate=validate.Length(max=100))
    teachers = fields.String(validate=validate.Length(max=500))
    teacher_count = TypedCount()
    student_count = TypedCount()


class QuoteIn(StrictSchema):
    cooperative = fields.String(
        required=True, validate=validate.Regexp(NUMBER_RE, error="6 à 16 caractères A–Z et 0–9 (UAI + compte)."),
        metadata={"description": "whose department's rates apply: a school quotes for itself only"},
    )
    year = fields.String(required=True, validate=_school_year, metadata={"example": "2025-2026"})
    classes = fields.List(fields.Nested(QuoteRowSchema), load_default=list, validate=validate.Length(max=200))
    insurance = StrictBoolean(load_default=False)
    goods_value = TypedAmount()
    instruments_value = TypedAmount()
    payment = fields.Nested(PaymentChoiceSchema, metadata={"description": "accepted and ignored: it costs nothing"})


# the same parts as the events' (contracts.fields)
TotalsSchema = Schema.from_dict({part: fields.Integer() for part in TOTAL_PARTS}, name="TotalsSchema")
AmountsSchema = Schema.from_dict({part: Money(maximum="100000000") for part in AMOUNT_PARTS}, name="AmountsSchema")


class QuoteOut(Schema):
    cooperative = fields.String()
    year = fields.String()
    insurance = fields.Boolean()
    goods_value = Money(metadata={"description": "as read (0.00 when unreadable)"})
    instruments_value = Money(metadata={"description": "as read (0.00 when unreadable)"})
    totals = fields.Nested(TotalsSchema)
    amounts = fields.Nested(AmountsSchema)
    rates = fields.Nested(RatesSchema, metadata={"description": "the rates the amounts come from"})
    ignored = fields.List(fields.String(), metadata={
        "description": "the typed figures that could not be read and count as 0 (`classes.1.student_count`, "
                       "`goods_value`)"})


class ChecklistSchema(Schema):
    payment_received = fields.Boolean()
    amount_due = Money(maximum="100000000")
    amount_paid = Money(maximum="100000000")
    payment_methods = fields.List(fields.String())
    engagement_signed = fields.Boolean()
    change_form = fields.String()


# The association's contact block and how schools pay it, as its row holds them (set by
# its staff, empty until then): after its code and name in every answer about it.
DEPARTMENT_CONTACT = ("sender_name", "address", "phone", "email", "payee", "iban", "bic")


class DepartmentContactOut(Schema):
    """The association as the school's pages show it: contact block and how to pay it."""
    code = fields.String()
    name = fields.String()
    direct_debit = fields.Boolean(metadata={"description": "the department collects by direct debit (« prélèvement »)"})

    class Meta:
        include = {name: fields.String() for name in DEPARTMENT_CONTACT}


class AdhesionOut(Schema):
    cooperative = fields.Nested(CooperativeOut)
    department = fields.Nested(DepartmentContactOut)
    year = fields.String()
    classes = fields.List(fields.Nested(ClassRowSchema))
    insurance = fields.Boolean()
    goods_value = Money()
    instruments_value = Money()
    payment = fields.Nested(PaymentChoiceSchema)
    totals = fields.Nested(TotalsSchema)
    amounts = fields.Nested(AmountsSchema)
    status = fields.String()
    late = fields.Boolean()
    checklist = fields.Nested(ChecklistSchema)
    registration_code = fields.String(allow_none=True)
    correction_message = fields.String(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    validated_at = fields.DateTime(allow_none=True)
    version = fields.Integer()


class AdhesionList(Schema):
    items = fields.List(fields.Nested(AdhesionOut))
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class AdhesionFilter(StrictSchema):
    year = fields.String(validate=validate.Regexp(r"^[0-9]{4}-[0-9]{4}\Z", error="Année au format 2025-2026."))
    status = fields.String(validate=validate.OneOf(STATUSES))
    late = fields.Boolean()
    unpaid = fields.Boolean()


class CorrectionIn(StrictSchema):
    message = Text(required=True, multiline=True, validate=validate.Length(1, 2000))


class ChecklistIn(StrictSchema):
    engagement_signed = StrictBoolean()
    change_form = fields.String(validate=validate.OneOf(CHANGE_FORM_STATES))


class ValidateIn(StrictSchema):
    registration_code = Code(
        validate=validate.Regexp(r"^[0-9]{2}/[0-9]{4} A\Z", error="Code au format 26/0001 A.")
    )


class RemindersOut(Schema):
    round = fields.Integer()
    reminded = fields.List(fields.String())
    count = fields.Integer()


class ReminderReachOut(Schema):
    year = fields.String()
    count = fields.Integer(metadata={"description": "cooperatives a reminder sent now would reach"})


# --- departments, staff, bulk onboarding, password links and the campaign (docs/campaign.md) ---

DEPARTMENT_RE = r"(?:[0-9]{2,3}|2[AB])\Z"  # 38, 974, and Corsica's 2A / 2B
# \Z, not $: "$" lets a final line break through (then stored, or a 500 in iban_ok)
IBAN_RE = r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{10,30}\Z"
BIC_RE = r"^[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?\Z"


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
    email = EmailAddressOrEmpty()  # stored as SMTP takes it: an IDN domain in IDNA (Reply-To)
    payee = Text(validate=validate.Length(max=200))
    iban = fields.String(validate=validate.Length(max=34))
    bic = fields.String(validate=validate.Length(max=11))
    # how long the department keeps them (docs/audit.md#5-retention): at least six months of
    # sign-ins (the CNIL's shortest advice), a year of email bodies, the ten years of accounting
    retention_signin_months = fields.Integer(strict=True, validate=validate.Range(6, 120))
    retention_email_months = fields.Integer(strict=True, validate=validate.Range(12, 120))
    retention_accounting_years = fields.Integer(strict=True, validate=validate.Range(10, 30))

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
    retention_signin_months = fields.Integer()
    retention_email_months = fields.Integer()
    retention_accounting_years = fields.Integer()

    class Meta:
        include = {name: fields.String() for name in DEPARTMENT_CONTACT}


DepartmentList = item_list(DepartmentOut)


class StaffIn(StrictSchema):
    login = fields.String(required=True, validate=validate.Regexp(r"[A-Za-z0-9._@-]{3,100}\Z",
                                                                  error="3 à 100 caractères : lettres, chiffres, . _ @ -"))
    password = fields.String(required=True, load_only=True, validate=NEW_PASSWORD)
    department = fields.String(required=True, validate=validate.Regexp(DEPARTMENT_RE, error="Numéro de département."))
    email = EmailAddress(required=True)


class StaffOut(Schema):
    login = fields.String(metadata={"description": "The staff member's login"})
    role = fields.String(metadata={"description": "Always staff here"})
    department = department_field()
    email = fields.String(allow_none=True, metadata={"description": "Their own mailbox (none for the first account)"})
    national = fields.Boolean(metadata={"description": "True for the national administrator (the first account)"})


StaffList = item_list(StaffOut)


class ImportQuery(StrictSchema):
    dry_run = fields.Boolean(load_default=False)
    # national administrator only: accept numbers whose UAI names another department
    other_department = fields.Boolean(load_default=False)


class CooperativeImportOut(ImportOut):
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
    # national administrator only: move the cooperative (and its login) to another department
    department = fields.String(validate=validate.Regexp(DEPARTMENT_RE, error="Numéro de département."))


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


class QueueState(Schema):
    queue = fields.String()
    messages = fields.Integer(metadata={"description": "Messages waiting (not those a worker holds)"})
    oldest_age_seconds = fields.Float(allow_none=True, metadata={
        "description": "How long the oldest waiting message has waited; null when empty or not told (RabbitMQ)"})
    workers_seen = fields.Integer(metadata={"description": "Workers of this queue seen in the last minute"})


class WorkerSeen(Schema):
    name = fields.String(metadata={"example": "documents@host"})
    queues = fields.List(fields.String())
    last_seen_seconds = fields.Float(metadata={"description": "Since it last took a message"})


class OutboxState(Schema):
    service = fields.String()
    pending = fields.Integer()
    oldest_age_seconds = fields.Float(allow_none=True)


class EmailCount(Schema):
    status = fields.String()
    lane = fields.String(metadata={"description": "transactional or bulk"})
    count = fields.Integer()


class FailedEmail(Schema):
    id = fields.Integer()
    department = fields.String()
    cooperative = fields.String()
    kind = fields.String()
    to = fields.String()
    subject = fields.String()
    attempts = fields.Integer()
    created_at = fields.String()
    last_error = fields.String(allow_none=True)


class OperationsOut(Schema):
    """« État du système » (national admin)."""

    queues = fields.List(fields.Nested(QueueState))
    unacked = fields.Integer(allow_none=True, metadata={"description": "Messages held by workers (Redis)"})
    workers = fields.List(fields.Nested(WorkerSeen))
    outboxes = fields.List(fields.Nested(OutboxState))
    emails = fields.List(fields.Nested(EmailCount))
    failed_emails = fields.List(fields.Nested(FailedEmail))
    errors = fields.Dict(keys=fields.String(), values=fields.String(),
                         metadata={"description": "The parts that could not be read now, and why"})


class ResentOut(Schema):
    id = fields.Integer()
    status = fields.String()
class PersonalDataExport(Schema):
    """Every service's tables about the cooperative's people: ``{service: {table: [rows]}}``."""

    cooperative = fields.String()
    generated_at = fields.DateTime()
    services = fields.Dict(keys=fields.String(), values=fields.Dict())


class ErasedOut(Schema):
    cooperative = fields.String()
    erased = fields.Boolean()
