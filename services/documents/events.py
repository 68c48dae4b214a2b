"""The events the documents service writes to its outbox. ``documents.generated`` is a
claim check: each PDF's number, file name, size, digest and where the documents API
serves it to other services; the bytes stay in this service's store."""
import hashlib

from sqlalchemy.orm import Session

from contracts import documents as contracts
from services.documents import domain
from services.documents.models import Document, OutboxEvent
from shared import outbox


def generated(session: Session, validated: dict, documents: list[Document], pdfs: dict[str, bytes]) -> None:
    outbox.record(session, OutboxEvent, contracts.GENERATED, {
        "cooperative": validated["cooperative"],
        "department": validated["department"],
        "year": validated["year"],
        "registration_code": validated["registration_code"],
        "version": validated["version"],
        "insurance": validated["insurance"],
        "amount_paid": validated["amount_paid"],
        "documents": [
            {
                "kind": row.kind,
                "number": row.number,
                "filename": domain.filename(row.kind, row.cooperative, row.year, row.version),
                "url": domain.file_url(row.number),
                "size": len(pdfs[row.kind]),
                "sha256": hashlib.sha256(pdfs[row.kind]).hexdigest(),
            }
            for row in sorted(documents, key=lambda row: domain.KINDS.index(row.kind))
        ],
    })
