"""marshmallow fields and validators shared by every service's schemas."""
from decimal import Decimal, InvalidOperation

import re

from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

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


class Text(fields.String):
    """Text a person typed: surrounding spaces removed, blank refused when required."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
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
        if isinstance(value, bool):
            raise ValidationError("Montant invalide.")
        if isinstance(value, float):
            value = repr(value)  # the digits the client wrote, never binary float arithmetic
        try:
            number = Decimal(str(value).strip().replace(",", "."))
        except (InvalidOperation, ValueError):
            raise ValidationError("Montant invalide.")
        if not number.is_finite():
            raise ValidationError("Montant invalide.")
        if not (self.minimum <= number <= self.maximum):  # before quantize: 1e400 has no cents
            raise ValidationError(f"Doit être compris entre {self.minimum} et {self.maximum}.")
        if number != number.quantize(Decimal(1).scaleb(-self.max_places)):
            raise ValidationError(f"Au plus {self.max_places} décimales.")
        return number

    def _serialize(self, value, attr, obj, **kwargs):
        if value is None:
            return None
        text = str(Decimal(value).quantize(Decimal(1).scaleb(-self.max_places)))
        if self.max_places > 2:  # a rate reads "2.26" or "0.00688", not "2.26000"
            units, _, fraction = text.partition(".")
            text = f"{units}.{fraction.rstrip('0').ljust(2, '0')}"
        return text


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
    """Only JSON true/false: "oui" or 1 are not silently turned into answers."""

    truthy = {True}
    falsy = {False}
