"""The events the documents service writes to its outbox. ``documents.generated`` carries
the PDFs themselves (about 7 KB each), so notify never reads this service's store."""
import base64

from sqlalchemy.orm import Session

from services.documents import domain
from services.documents.models import Document, OutboxEvent
from contracts import documents as contracts
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
                "pdf_base64": base64.b64encode(pdfs[row.kind]).decode("ascii"),
            }
            for row in sorted(documents, key=lambda row: domain.KINDS.index(row.kind))
        ],
    })
