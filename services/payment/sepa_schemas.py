"""marshmallow schemas of the direct debit calls (docs/sepa.md)."""
from marshmallow import Schema, fields, validate

from services.payment import sepa_rules
from services.payment.schemas import NUMBER_FIELD
from shared.fields import Money, StrictSchema, Text
from shared.schemas import item_list

_IBAN = dict(validate=validate.Length(min=1, max=50))
_BIC = dict(load_default="", allow_none=True, validate=validate.Length(max=20))


class AddressIn(StrictSchema):
    street = Text(required=True, validate=validate.Length(min=1, max=70))
    postcode = Text(required=True, validate=validate.Length(min=1, max=16))
    town = Text(required=True, validate=validate.Length(min=1, max=35))
    country = fields.String(load_default="FR", validate=validate.Regexp(r"[A-Z]{2}\Z", error="Code pays ISO (FR)."))


class AddressOut(Schema):
    street = fields.String()
    postcode = fields.String()
    town = fields.String()
    country = fields.String()


class CreditorIn(StrictSchema):
    name = Text(required=True, validate=validate.Length(min=1, max=70))
    ics = fields.String(required=True, validate=validate.Length(min=1, max=35))
    iban = fields.String(required=True, **_IBAN)
    bic = fields.String(**_BIC)
    address = fields.Nested(AddressIn, required=True)


class CreditorOut(Schema):
    department = fields.String()
    name = fields.String()
    ics = fields.String(metadata={"description": "Identifiant créancier SEPA"})
    iban = fields.String()
    bic = fields.String()
    address = fields.Nested(AddressOut)
    updated_by = fields.String()
    updated_at = fields.DateTime()


class OfferOut(Schema):
    offered = fields.Boolean(metadata={"description": "The department collects by direct debit"})
    creditor_name = fields.String()
    ics = fields.String()


class DatesIn(StrictSchema):
    dates = fields.List(fields.Date(), required=True, validate=validate.Length(max=36))


class DatesOut(Schema):
    year = fields.String()
    dates = fields.List(fields.Date())


class MandateIn(StrictSchema):
    cooperative = fields.String(required=True, **NUMBER_FIELD)
    debtor_name = Text(required=True, validate=validate.Length(min=1, max=70))
    iban = fields.String(required=True, **_IBAN)
    bic = fields.String(**_BIC)
    address = fields.Nested(AddressIn, required=True)


class AmendIn(StrictSchema):
    iban = fields.String(required=True, **_IBAN)
    bic = fields.String(**_BIC)
    debtor_name = Text(validate=validate.Length(min=1, max=70))
    address = fields.Nested(AddressIn)


class ActivateIn(StrictSchema):
    signed_on = fields.Date(required=True)


class MandateOut(Schema):
    rum = fields.String(metadata={"description": "Référence unique du mandat (≤ 35 caractères A–Z 0–9 -)"})
    cooperative = fields.String()
    department = fields.String()
    status = fields.String(metadata={"enum": list(sepa_rules.MANDATE_STATUSES)})
    status_text = fields.String()
    debtor_name = fields.String()
    iban = fields.String()
    bic = fields.String()
    address = fields.Nested(AddressOut)
    signed_on = fields.Date(allow_none=True)
    amendment = fields.Boolean(metadata={"description": "The IBAN changed: the next collection carries the original"})
    last_collected_on = fields.Date(allow_none=True)
    created_at = fields.DateTime()


class MandateFilter(StrictSchema):
    cooperative = fields.String(**NUMBER_FIELD)


class CollectionFilter(StrictSchema):
    date = fields.Date()
    status = fields.String(validate=validate.OneOf(sepa_rules.COLLECTION_STATUSES))


class CollectionOut(Schema):
    id = fields.Integer()
    cooperative = fields.String()
    name = fields.String()
    year = fields.String()
    rum = fields.String()
    amount = Money()
    collection_date = fields.Date()
    end_to_end_id = fields.String(metadata={"description": "The adhesion's RF payment reference"})
    status = fields.String(metadata={"enum": list(sepa_rules.COLLECTION_STATUSES)})
    status_text = fields.String()
    reason_code = fields.String(metadata={"description": "The bank's return reason (AM04…)"})
    reason = fields.String(metadata={"description": "« Provision insuffisante »…"})
    batch = fields.Integer(allow_none=True)
    presentation = fields.Integer(metadata={"description": "2 when an AM04 is presented again"})
    amendment = fields.Boolean()


class BatchIn(StrictSchema):
    collection_date = fields.Date(required=True)


class BatchOut(Schema):
    id = fields.Integer()
    collection_date = fields.Date()
    message_id = fields.String()
    count = fields.Integer()
    total = Money()
    status = fields.String(metadata={"enum": [sepa_rules.BUILT, sepa_rules.BATCH_EXPORTED, sepa_rules.CREDITED]})
    created_at = fields.DateTime()
    created_by = fields.String()
    exported_at = fields.DateTime(allow_none=True)


class BatchDetail(BatchOut):
    collections = fields.List(fields.Nested(CollectionOut))


class VersionQuery(StrictSchema):
    version = fields.String(load_default="08", validate=validate.OneOf(["08", "02"]))


MandateList = item_list(MandateOut)
CollectionList = item_list(CollectionOut)
BatchList = item_list(BatchOut)
