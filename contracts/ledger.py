"""Events the ledger service produces: the compte rendu financier's life (docs/ledger.md#6-the-years-end)."""
from marshmallow import Schema, fields, validate

from contracts.fields import (
    COOPERATIVE_EXAMPLE,
    DEPARTMENT_EXAMPLE,
    CooperativeRef,
    Day,
    DepartmentRef,
    Moment,
    Money,
    Year,
)
from shared.events import Contract


class _AboutCrf(Schema):
    cooperative = fields.Nested(CooperativeRef, required=True)
    department = fields.Nested(DepartmentRef, required=True)
    year = Year()  # the exercise: 2024-2025 closes on 31/08/2025
    # the nth submission (or return) of this CRF: one email each, never two for one
    sequence = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))


class Closing(Schema):
    bank = Money()
    cash = Money()


class CrfSubmitted(_AboutCrf):
    submitted_at = Moment()
    result = Money()
    closing = fields.Nested(Closing, required=True)
    late = fields.Boolean(required=True)


class CrfReturned(_AboutCrf):
    message = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class CrfReminderDue(Schema):
    cooperative = fields.Nested(CooperativeRef, required=True)
    department = fields.Nested(DepartmentRef, required=True)
    year = Year()
    round = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    deadline = Day(required=True)


_ABOUT = {"cooperative": COOPERATIVE_EXAMPLE, "department": DEPARTMENT_EXAMPLE, "year": "2024-2025", "sequence": 1}

CRF_SUBMITTED = Contract(
    "ledger.crf_submitted", 1, CrfSubmitted,
    {**_ABOUT, "submitted_at": "2025-09-20T08:30:00+00:00", "result": "187.15",
     "closing": {"bank": "1387.15", "cash": "50.00"}, "late": False},
    "a school sent its compte rendu financier to the department: acknowledge it",
)
CRF_RETURNED = Contract(
    "ledger.crf_returned", 1, CrfReturned,
    {**_ABOUT, "message": "Le relevé joint n'est pas celui du 31 août."},
    "staff returned a compte rendu financier to the school with a message (the book reopens)",
)
CRF_REMINDER_DUE = Contract(
    "ledger.crf_reminder_due", 1, CrfReminderDue,
    {"cooperative": COOPERATIVE_EXAMPLE, "department": DEPARTMENT_EXAMPLE, "year": "2024-2025", "round": 1,
     "deadline": "2025-09-30"},
    "a cooperative has not sent its compte rendu financier: one reminder per round",
)
