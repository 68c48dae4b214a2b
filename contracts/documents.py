"""Events the documents service produces."""
import hashlib

from marshmallow import Schema, fields, validate

from contracts.fields import COOPERATIVE_EXAMPLE, DEPARTMENT_EXAMPLE, CooperativeRef, DepartmentRef, Money, Year
from shared.events import Contract


class GeneratedDocument(Schema):
    """A claim check: where to fetch one PDF, never the PDF itself (the broker carries
    kilobytes, even through a day of SMTP outage)."""

    kind = fields.String(required=True, validate=validate.OneOf(("attestation", "certificate")))
    number = fields.String(required=True)
    filename = fields.String(required=True)
    # a path under the documents API, fetched with a service credential
    url = fields.String(required=True, validate=validate.Regexp(r"/api/documents/[^\s]+\Z"))
    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    sha256 = fields.String(required=True, validate=validate.Regexp(r"[0-9a-f]{64}\Z"))


class Generated(Schema):
    cooperative = fields.Nested(CooperativeRef, required=True)
    department = fields.Nested(DepartmentRef, required=True)
    year = Year()
    registration_code = fields.String(required=True)
    version = fields.Integer(required=True, strict=True)
    insurance = fields.Boolean(required=True)
    amount_paid = Money()
    documents = fields.List(fields.Nested(GeneratedDocument), required=True)


# The example's PDF: its size and digest in the example are this file's (a consumer's test
# can serve it from a real documents API and check what it fetched).
EXAMPLE_PDF = b"%PDF-1.4\n% Retkoop example attestation\n%%EOF\n"

# Version 2: v1 carried each PDF base64 (``pdf_base64``); v2 carries where to fetch it.
GENERATED = Contract(
    "documents.generated", 2, Generated,
    {"cooperative": COOPERATIVE_EXAMPLE, "department": DEPARTMENT_EXAMPLE, "year": "2025-2026",
     "registration_code": "26/0001 A", "version": 1, "insurance": True, "amount_paid": "439.25",
     "documents": [{"kind": "attestation", "number": "ATT-2026-38-000001",
                    "filename": "attestation-0382296P00-2025-2026.pdf",
                    "url": "/api/documents/files/ATT-2026-38-000001.pdf", "size": len(EXAMPLE_PDF),
                    "sha256": hashlib.sha256(EXAMPLE_PDF).hexdigest()}]},
    "the PDFs of a validation are rendered and stored (fetch them from the documents API)",
)
