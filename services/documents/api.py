"""``/api/documents``: the current documents of a cooperative and year, and their PDFs."""
from datetime import datetime, timezone
from io import BytesIO

from flask import send_file
from flask_smorest import Blueprint
from sqlalchemy import select

from services.documents import domain
from services.documents import service as documents
from services.documents.models import Document
from services.documents.schemas import DocumentList
from services.documents.storage import current_storage
from shared.auth import (current_principal, ensure_access, ensure_own_cooperative, login_required, service_required,
                         staff_required)
from shared.errors import ApiError, checked_path
from shared.service import service

blp = Blueprint("documents", __name__, url_prefix="/api/documents", description="Attestations et certificats")


def current_documents(number: str, year: str) -> list[Document]:
    """The generated, not superseded documents, after the access check.

    A school sees only its own cooperative. This service knows a cooperative's
    department only from its documents: staff of another department get 403 once there
    is one, and an empty answer before."""
    principal = current_principal()
    ensure_own_cooperative(principal, number)
    with service().database.session() as session:
        department = session.scalar(select(Document.department).where(Document.cooperative == number).limit(1))
        if department is not None:
            ensure_access(principal, number, department)
        return documents.current_documents(session, number, year)


def aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every stored one is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def document_answer(row: Document) -> dict:
    return {
        "kind": row.kind,
        "number": row.number,
        "url": f"/api/documents/{row.cooperative}/{row.year}/{row.kind}.pdf",
        "generated_at": aware(row.generated_at),
        "version": row.version,
        "registration_code": row.registration_code,
    }


@blp.get("/<number>/<year>")
@login_required
@blp.response(200, DocumentList)
def list_documents(number, year):
    checked_path(number, year)
    return {"documents": [document_answer(row) for row in current_documents(number, year)]}


@blp.post("/<number>/<year>/reissue")
@staff_required
@blp.response(202, DocumentList)
def reissue(number, year):
    """Draw the current documents again and send their confirmation again when it failed
    (« Réémettre les documents »): same numbers, same verification links."""
    checked_path(number, year)
    try:
        rows = documents.reissue(service(), current_storage(), current_principal(), number, year)
    except documents.NotFound:
        raise ApiError(404, f"Aucun document émis pour {number} en {year}.") from None
    except documents.CannotReissue:
        raise ApiError(409, "Ces documents ont été émis avant que leurs données soient conservées : "
                            "revalidez l'adhésion pour en émettre une nouvelle version.") from None
    return {"documents": [document_answer(row) for row in rows]}


@blp.get("/<number>/<year>/<kind>.pdf")
@login_required
@blp.doc(responses={"200": {"description": "Le PDF", "content": {"application/pdf": {}}}})
def download(number, year, kind):
    checked_path(number, year)
    if kind not in domain.KINDS:
        raise ApiError(404, "Document inconnu : attestation ou certificate.")
    row = next((row for row in current_documents(number, year) if row.kind == kind), None)
    if row is None:
        raise ApiError(404, f"{domain.LABELS[kind]} pas encore disponible pour {year}.")
    pdf = current_storage().get(row.storage_key)
    if pdf is None:
        raise ApiError(503, "Le fichier du document est momentanément indisponible.")
    response = send_file(
        BytesIO(pdf),
        mimetype="application/pdf",
        download_name=domain.download_name(kind, number, year, row.version),
        max_age=0,
    )
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@blp.get("/files/<number>.pdf")
@service_required
@blp.doc(responses={"200": {"description": "Le PDF", "content": {"application/pdf": {}}}})
def file_for_services(number):
    """One generated PDF by its number, for the other services of the install (the claim
    check of ``documents.generated``): a service credential only, superseded ones too."""
    if not domain.is_document_number(number):
        raise ApiError(404, "Document inconnu.")
    with service().database.session() as session:
        row = session.scalar(select(Document).where(Document.number == number, Document.generated_at.is_not(None)))
    if row is None:
        raise ApiError(404, "Document inconnu.")
    pdf = current_storage().get(row.storage_key)
    if pdf is None:
        raise ApiError(503, "Le fichier du document est momentanément indisponible.")
    response = send_file(BytesIO(pdf), mimetype="application/pdf", max_age=0,
                         download_name=domain.filename(row.kind, row.cooperative, row.year, row.version))
    response.headers["Cache-Control"] = "private, no-store"
    return response
