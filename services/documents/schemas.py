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


class FailedDocument(Schema):
    kind = fields.String(metadata={"enum": ["attestation", "certificate"]})
    number = fields.String(metadata={"example": "ATT-2026-38-000001"})


class DocumentFailure(Schema):
    """The documents of one validation not produced: their issue was given up."""

    cooperative = fields.String(metadata={"example": "0382296P00"})
    cooperative_name = fields.String()
    department = fields.String(metadata={"example": "38"})
    year = fields.String(metadata={"example": "2025-2026"})
    version = fields.Integer()
    documents = fields.List(fields.Nested(FailedDocument))
    failure = fields.String(metadata={"description": "Why, in French", "example": (
        "Enregistrement des PDF impossible (OSError: [Errno 28] No space left on device). "
        "Réparez la cause puis réémettez les documents.")})
    failed_at = fields.DateTime(metadata={"description": "Given up since"})


class DocumentFailureList(Schema):
    items = fields.List(fields.Nested(DocumentFailure))


class VerifyOut(Schema):
    valid = fields.Boolean(required=True)
    cooperative = fields.String()
    year = fields.String()
    kind = fields.String()
