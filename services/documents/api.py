"""``/api/documents``: the current documents of a cooperative and year, and their PDFs."""
from io import BytesIO

from flask import send_file
from flask_smorest import Blueprint

from services.documents import domain
from services.documents import personal_data as personal
from services.documents import service as documents
from services.documents.models import Document
from services.documents.schemas import DocumentFailureList, DocumentList
from services.documents.storage import current_storage
from shared.auth import current_principal, login_required, service_required, staff_required
from shared.errors import checked_path
from shared.personal_data import internal_route
from shared.service import service

blp = Blueprint("documents", __name__, url_prefix="/api/documents", description="Attestations et certificats")


def document_answer(row: Document) -> dict:
    return {
        "kind": row.kind,
        "number": row.number,
        "url": f"/api/documents/{row.cooperative}/{row.year}/{row.kind}.pdf",
        "generated_at": row.generated_at,
        "version": row.version,
        "registration_code": row.registration_code,
    }


@blp.get("/<number>/<year>")
@login_required
@blp.response(200, DocumentList)
def list_documents(number, year):
    checked_path(number, year)
    rows = documents.current_documents(service(), current_principal(), number, year)
    return {"documents": [document_answer(row) for row in rows]}


@blp.get("/failures")
@staff_required
@blp.response(200, DocumentFailureList)
def failures():
    """« Documents non produits »: the validations whose documents could not be drawn or
    stored and were given up after DOCUMENTS_GIVE_UP_SECONDS of retries, with why and
    since when. Staff of the department; the national administrator sees every one."""
    return {"items": documents.failures(service(), current_principal())}


@blp.post("/<number>/<year>/reissue")
@staff_required
@blp.response(202, DocumentList)
def reissue(number, year):
    """Draw the current documents again and send their confirmation again when it failed
    (« Réémettre les documents »): same numbers, same verification links. Documents not
    produced (their issue given up) are drawn for the first time and published. Staff of
    the cooperative's department, or the national administrator."""
    checked_path(number, year)
    rows = documents.reissue(service(), current_storage(), current_principal(), number, year)
    return {"documents": [document_answer(row) for row in rows]}


@blp.get("/<number>/<year>/<kind>.pdf")
@login_required
@blp.doc(responses={"200": {"description": "Le PDF", "content": {"application/pdf": {}}}})
def download(number, year, kind):
    checked_path(number, year)
    row, pdf = documents.current_file(service(), current_storage(), current_principal(), number, year, kind)
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
    row, pdf = documents.file_by_number(service(), current_storage(), number)
    response = send_file(BytesIO(pdf), mimetype="application/pdf", max_age=0,
                         download_name=domain.filename(row.kind, row.cooperative, row.year, row.version))
    response.headers["Cache-Control"] = "private, no-store"
    return response


internal_route(blp, personal.export)  # GET …/internal/personal-data/<number>
