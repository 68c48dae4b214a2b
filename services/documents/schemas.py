"""marshmallow schemas of the documents service: its answers and their OpenAPI document."""
from marshmallow import Schema, fields


class DocumentOut(Schema):
    kind = fields.String(metadata={"enum": ["attestation", "certificate"]})
    number = fields.String(metadata={"example": "ATT-2026-38-000001"})
    url = fields.String(metadata={"example": "/api/documents/0382296P00/2025-2026/attestation.pdf"})
    generated_at = fields.DateTime()
    version = fields.Integer()
    registration_code = fields.String(metadata={"example": "26/0001 A"})


class DocumentList(Schema):
    documents = fields.List(fields.Nested(DocumentOut))


class VerifyOut(Schema):
    valid = fields.Boolean(required=True)
    cooperative = fields.String()
    year = fields.String()
    kind = fields.String()
