"""marshmallow building blocks of the services' answers (fields and validators are in
``shared.fields``)."""
from marshmallow import Schema, fields


def item_list(item: type[Schema]) -> type[Schema]:
    """A listing's answer, ``{"items": [...]}``, named after its item as the OpenAPI
    document shows it: ``PaymentOut`` → ``PaymentList``."""
    name = item.__name__.removesuffix("Out") + "List"
    return Schema.from_dict({"items": fields.List(fields.Nested(item))}, name=name)


# The keys every service's answers share, described once for the OpenAPI documents.

def cooperative_field(**kwargs) -> fields.String:
    return fields.String(metadata={"description": "The cooperative's number (school UAI + account)"}, **kwargs)


def year_field(**kwargs) -> fields.String:
    return fields.String(metadata={"description": "School year, e.g. 2025-2026"}, **kwargs)


def department_field(**kwargs) -> fields.String:
    return fields.String(metadata={"description": "The OCCE department's number, e.g. 38"}, **kwargs)


def id_field(of: str, **kwargs) -> fields.Integer:
    """A row's id, the one its paths take: ``id_field("payment")``."""
    return fields.Integer(metadata={"description": f"The {of}'s id"}, **kwargs)


def staff_login_field(did: str, **kwargs) -> fields.String:
    """Who did it: ``staff_login_field("recorded it")``."""
    return fields.String(metadata={"description": f"Login of the staff member who {did}"}, **kwargs)


class CooperativeYearOut(Schema):
    """An answer about one cooperative's school year, the key every service files under."""

    cooperative = cooperative_field()
    year = year_field()


class ImportProblem(Schema):
    """One refusal of a CSV import (shared.csv_import), named where it is."""

    line = fields.Integer(metadata={"description": "Line of the CSV file (the header is line 1)"})
    field = fields.String(metadata={"description": "The column at fault; file, header or line when it is the whole file or line"})
    message = fields.String(metadata={"description": "What is wrong, in French"})


class ImportOut(Schema):
    """What a CSV import did, or would do on a dry run: nothing is kept when ``errors`` is not empty."""

    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    errors = fields.List(fields.Nested(ImportProblem))
    dry_run = fields.Boolean()
