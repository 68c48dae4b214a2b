"""Events the documents service produces."""
from marshmallow import Schema, fields, validate

from contracts.fields import COOPERATIVE_EXAMPLE, DEPARTMENT_EXAMPLE, CooperativeRef, DepartmentRef, Money, Year
from shared.events import Contract


class GeneratedDocument(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("attestation", "certificate")))
    number = fields.String(required=True)
    filename = fields.String(required=True)
    pdf_base64 = fields.String(required=True)


class Generated(Schema):
    cooperative = fields.Nested(CooperativeRef, required=True)
    department = fields.Nested(DepartmentRef, required=True)
    year = Year()
    registration_code = fields.String(required=True)
    version = fields.Integer(required=True, strict=True)
    insurance = fields.Boolean(required=True)
    amount_paid = Money()
    documents = fields.List(fields.Nested(GeneratedDocument), required=True)


GENERATED = Contract(
    "documents.generated", 1, Generated,
    {"cooperative": COOPERATIVE_EXAMPLE, "department": DEPARTMENT_EXAMPLE, "year": "2025-2026",
     "registration_code": "26/0001 A", "version": 1, "insurance": True, "amount_paid": "439.25",
     "documents": [{"kind": "attestation", "number": "ATT-38-2026-000001",
                    "filename": "attestation-0382296P00-2025-2026.pdf", "pdf_base64": "JVBERi0xLjQK"}]},
    "the PDFs of a validation are rendered and stored",
)
