"""marshmallow building blocks of the services' answers (fields and validators are in
``shared.fields``)."""
from marshmallow import Schema, fields


def item_list(item: type[Schema]) -> type[Schema]:
    """A listing's answer, ``{"items": [...]}``, named after its item as the OpenAPI
    document shows it: ``PaymentOut`` → ``PaymentList``."""
    name = item.__name__.removesuffix("Out") + "List"
    return Schema.from_dict({"items": fields.List(fields.Nested(item))}, name=name)


class CooperativeYearOut(Schema):
    """An answer about one cooperative's school year, the key every service files under."""

    cooperative = fields.String()
    year = fields.String()
