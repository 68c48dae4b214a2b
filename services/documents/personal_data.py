"""What the documents service holds about a cooperative's people (the name on its
attestations, the validation they were drawn from) and their erasure: numbers, codes,
amounts and verification tokens stay."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.documents.models import Document, OutboxEvent
from shared.personal_data import ANONYMISED, rows, scrub_outbox
from shared.service import ServiceContext


def export(ctx: ServiceContext, number: str) -> dict:
    with ctx.database.session() as session:
        return {"documents": rows(session, select(Document).where(Document.cooperative == number)
                                  .order_by(Document.id), ("kind", "number", "year", "version", "registration_code",
                                                           "cooperative_name", "generated_at", "source"))}


def erase(ctx: ServiceContext, session: Session, number: str) -> None:
    import json

    documents = list(session.scalars(select(Document).where(Document.cooperative == number)))
    known = []
    for document in documents:
        known.append(document.cooperative_name)
        if document.source:
            cooperative = json.loads(document.source).get("cooperative", {})
            known += [cooperative.get("name"), cooperative.get("email")]
    known = [value for value in known if value and value != ANONYMISED]
    for document in documents:
        document.cooperative_name = ANONYMISED
        if document.source:
            source = json.loads(document.source)
            source["cooperative"].update(name=ANONYMISED, email=ANONYMISED)
            document.source = json.dumps(source)
    scrubbed = scrub_outbox(session, OutboxEvent, known)
    ctx.audit(session, "personal_data.erased", number, {"documents": len(documents), "outbox_rows": scrubbed},
              department=documents[0].department if documents else "")
