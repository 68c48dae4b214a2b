"""marshmallow fields and validators shared by every service's schemas."""
from decimal import Decimal, InvalidOperation

from marshmallow import RAISE, Schema, ValidationError, fields, validate

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
        if number != number.quantize(Decimal(1).scaleb(-self.max_places)):
            raise ValidationError(f"Au plus {self.max_places} décimales.")
        if not (self.minimum <= number <= self.maximum):
            raise ValidationError(f"Doit être compris entre {self.minimum} et {self.maximum}.")
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
