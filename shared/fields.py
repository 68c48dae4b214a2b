"""marshmallow fields and validators shared by every service's schemas."""
import re
import unicodedata
from decimal import Decimal, InvalidOperation

from email_validator import EmailNotValidError, validate_email
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from shared.money import format_eur, format_number

# Messages a teacher or staff member may read, in French.
fields.Field.default_error_messages.update(
    required="Champ obligatoire.",
    null="Ce champ ne peut pas être vide.",
    validator_failed="Valeur invalide.",
)
fields.Integer.default_error_messages.update(invalid="Nombre entier attendu.", too_large="Nombre trop grand.")
fields.Number.default_error_messages.update(invalid="Nombre attendu.", too_large="Nombre trop grand.")
fields.String.default_error_messages.update(invalid="Texte attendu.")
fields.Boolean.default_error_messages.update(invalid="Oui ou non attendu (true/false).")
fields.List.default_error_messages.update(invalid="Liste attendue.")
fields.Nested.default_error_messages.update(type="Objet attendu.")
fields.Email.default_error_messages.update(invalid="Adresse e-mail invalide.")
fields.Date.default_error_messages.update(invalid="Date attendue (AAAA-MM-JJ).")
validate.Length.message_min = "Au moins {min} caractère(s)."
validate.Length.message_max = "Au plus {max} caractères."
validate.Length.message_all = "Entre {min} et {max} caractères."
validate.OneOf.default_message = "Valeur attendue parmi : {choices}."
validate.Regexp.default_message = "Format invalide."


class StrictSchema(Schema):
    """Unknown fields are refused, by name, rather than ignored."""

    class Meta:
        unknown = RAISE

    error_messages = {"unknown": "Champ inconnu.", "type": "Objet JSON attendu."}

    @pre_load(pass_collection=True)
    def refuse_control_characters(self, data, **kwargs):
        """NUL and other control characters are never text a person typed (and PostgreSQL
        refuses NUL): name the field instead of failing later."""
        bad = _control_characters(data)
        if bad:
            raise ValidationError(bad)
        return data


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _control_characters(value):
    if isinstance(value, str):
        return ["Caractères de contrôle interdits."] if _CONTROL.search(value) else None
    if isinstance(value, dict):
        found = {key: err for key, item in value.items() if (err := _control_characters(item))}
        return found or None
    if isinstance(value, list):
        found = {str(i): err for i, item in enumerate(value) if (err := _control_characters(item))}
        return found or None
    return None


def normalised(text: str) -> str:
    """NFC, so that ``École`` typed precomposed or as ``E`` + combining accent is one name."""
    return unicodedata.normalize("NFC", text)


# What a one-line text (a name, a town, a label) never holds: every control character
# (C0 with tab, CR and LF, DEL, C1 with U+0085) and the line and paragraph separators
# U+2028/U+2029. A line break in a name ends up in an email's Subject, a CSV row or a PDF
# line, where it breaks what carries it.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
ONE_LINE_MESSAGE = "Une seule ligne : ni retour à la ligne, ni tabulation, ni caractère de contrôle."


def one_line_problem(text: str) -> str | None:
    """Why ``text`` is not one line of text (the French message), or None: the rule of
    ``Text`` for what is not read through a schema (the CSV import)."""
    return ONE_LINE_MESSAGE if _NOT_ONE_LINE.search(text) else None


class Text(fields.String):
    """Text a person typed: NFC-normalised, surrounding spaces removed, blank refused when
    required. One line (``one_line_problem``) unless ``multiline=True``: a message to a
    school keeps its line breaks (StrictSchema still refuses the other controls)."""

    def __init__(self, multiline: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.multiline = multiline

    def _deserialize(self, value, attr, data, **kwargs):
        text = normalised(super()._deserialize(value, attr, data, **kwargs))
        if not self.multiline and (problem := one_line_problem(text)):
            raise ValidationError(problem)
        text = text.strip()
        if self.required and not text:
            raise ValidationError("Ce champ ne peut pas être vide.")
        return text


class Money(fields.Decimal):
    """An amount carried as a JSON string ``"395.50"``; refuses more than ``places`` decimals
    instead of rounding silently."""

    def __init__(self, places: int = 2, minimum: str = "0", maximum: str = "1000000.00", **kwargs):
        super().__init__(as_string=True, allow_nan=False, **kwargs)
        self.max_places = places
        self.minimum = Decimal(minimum)
        self.maximum = Decimal(maximum)

    def _deserialize(self, value, attr, data, **kwargs):
        # A JSON float has already lost the digits the client meant ("0.1" is not 0.1), and
        # Decimal() would read "1e3", "١٢٣" or "２５００": only ASCII digits, as a string or
        # a whole JSON number.
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not _AMOUNT.fullmatch(value.strip()):
            raise ValidationError("Montant invalide : chiffres, au plus un séparateur décimal (ex. \"395.50\").")
        try:
            number = Decimal(value.strip().replace(",", "."))
        except (InvalidOperation, ValueError):
            raise ValidationError("Montant invalide.")
        if not (self.minimum <= number <= self.maximum):  # before quantize: 1e400 has no cents
            raise ValidationError(f"Doit être compris entre {self._french(self.minimum)} et {self._french(self.maximum)}.")
        if number != number.quantize(Decimal(1).scaleb(-self.max_places)):
            raise ValidationError(f"Au plus {self.max_places} décimales.")
        return number

    def _french(self, bound: Decimal) -> str:
        """Bounds as the pages write numbers: ``1 000 000,00 €`` for money, ``0,5`` for a rate."""
        return format_eur(bound) if self.max_places == 2 else format_number(bound)

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        text = str(Decimal(value).quantize(Decimal(1).scaleb(-self.max_places)))
        if self.max_places > 2:  # a rate reads "2.26" or "0.00688", not "2.26000"
            units, _, fraction = text.partition(".")
            text = f"{units}.{fraction.rstrip('0').ljust(2, '0')}"
        return text


_AMOUNT = re.compile(r"[+-]?[0-9]{1,30}(?:[.,][0-9]{1,12})?", re.ASCII)


class Count(fields.Integer):
    """A whole number of people: 0 to 5000, no floats, no strings."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("Nombre entier attendu.")
        number = super()._deserialize(value, attr, data, **kwargs)
        if not 0 <= number <= 5000:
            raise ValidationError("Doit être un entier entre 0 et 5000.")
        return number


class StrictBoolean(fields.Boolean):
    """Only JSON true/false: "oui" or 1 are not silently turned into answers (``1 in {True}``
    is true in Python, hence the type check)."""

    truthy = {True}
    falsy = {False}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class Code(fields.String):
    """An identifier typed by staff (``26/0001 A``): spaces around and doubled inside are
    removed and letters upper-cased before it is checked whole, compared and stored."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        return " ".join(normalised(text).split()).upper()


class EmailAddress(fields.String):
    """A mailbox checked by email-validator: a domain in IDNA (``école.fr`` is stored as
    ``xn--cole-9oa.fr``, which every SMTP relay accepts), no line separators, no
    non-ASCII local part (few relays speak SMTPUTF8)."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip(" ")  # a line separator is refused, not cut
        if len(text) > 254:
            raise ValidationError("Au plus 254 caractères.")
        try:
            checked = validate_email(text, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError:
            raise ValidationError("Adresse e-mail invalide.")
        return checked.ascii_email


class EmailAddressOrEmpty(EmailAddress):
    """A mailbox that may be left empty (""): otherwise normalised as ``EmailAddress``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and not value.strip(" "):
            return ""
        return super()._deserialize(value, attr, data, **kwargs)
