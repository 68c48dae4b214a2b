"""``/api/payment/sepa`` and ``/api/payment/mandates``: direct debit (docs/sepa.md).
Thin routes: parse, call a use case, answer."""
from flask import Response
from flask_smorest import Blueprint

from banking.sepa import is_rum
from services.payment import sepa, sepa_batches
from services.payment.sepa_schemas import (
    ActivateIn,
    AmendIn,
    BatchDetail,
    BatchIn,
    BatchList,
    BatchOut,
    CollectionFilter,
    CollectionList,
    CreditorIn,
    CreditorOut,
    DatesIn,
    DatesOut,
    MandateFilter,
    MandateIn,
    MandateList,
    MandateOut,
    OfferOut,
    VersionQuery,
)
from shared.auth import current_principal, login_required, staff_required
from shared.errors import ApiError, checked_path
from shared.openapi import link, links
from shared.service import service

blp = Blueprint("sepa", __name__, url_prefix="/api/payment", description="Prélèvement SEPA")

RUM_PATH = "<rum>"


def _rum(rum: str) -> str:
    if not is_rum(rum):
        raise ApiError(400, "Adresse invalide.", {"rum": ["Au plus 35 caractères A–Z, 0–9 et -."]})
    return rum


def _file(data: bytes, mimetype: str, filename: str, disposition: str = "attachment") -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.get("/sepa/creditor")
@staff_required
@blp.response(200, CreditorOut)
def get_creditor():
    """The department's creditor settings; 404 until set."""
    return sepa.get_creditor(service(), current_principal())


@blp.put("/sepa/creditor")
@staff_required
@blp.arguments(CreditorIn)
@blp.response(200, CreditorOut)
def put_creditor(data):
    """Name, ICS, IBAN, BIC and address of the department as creditor; 422 naming a bad ICS, IBAN or BIC."""
    return sepa.set_creditor(service(), current_principal(), data)


@blp.get("/sepa/offer")
@login_required
@blp.response(200, OfferOut)
def get_offer():
    """Whether the caller's department offers payment by direct debit (« prélèvement »)."""
    return sepa.direct_debit_offer(service(), current_principal())


@blp.get("/sepa/mandate")
@login_required
@blp.response(200, MandateOut)
def own_mandate():
    """The school's own mandate (in force, else its latest); 404 without one."""
    return sepa.own_mandate(service(), current_principal())


@blp.get("/sepa/dates/<year>")
@staff_required
@blp.response(200, DatesOut)
def get_dates(year):
    checked_path(year=year)
    return sepa.get_dates(service(), current_principal(), year)


@blp.put("/sepa/dates/<year>")
@staff_required
@blp.arguments(DatesIn)
@blp.response(200, DatesOut)
def put_dates(data, year):
    """The year's collection dates (a date whose batch exists is kept)."""
    checked_path(year=year)
    return sepa.set_dates(service(), current_principal(), year, data["dates"])


@blp.post("/mandates")
@login_required
@blp.arguments(MandateIn)
@blp.response(201, MandateOut)
@blp.doc(**links(201, ReadThisMandate=link("get", "/api/payment/mandates/{rum}", "Le mandat", rum="$response.body#/rum"),
                 PrintThisMandate=link("get", "/api/payment/mandates/{rum}.pdf", "Le mandat pré-rempli à signer", rum="$response.body#/rum"),
                 AmendThisMandate=link("patch", "/api/payment/mandates/{rum}", "Changer l'IBAN du mandat", rum="$response.body#/rum"),
                 ActivateThisMandate=link("post", "/api/payment/mandates/{rum}/activate", "La date de signature : le mandat est actif", rum="$response.body#/rum"),
                 RevokeThisMandate=link("post", "/api/payment/mandates/{rum}/revoke", "Révoquer le mandat", rum="$response.body#/rum")))
def create_mandate(data):
    """A pending mandate with the RUM the system made; 422 bad IBAN; 409 one is already pending or active."""
    return sepa.create_mandate(service(), current_principal(), data)


@blp.get("/mandates")
@staff_required
@blp.arguments(MandateFilter, location="query")
@blp.response(200, MandateList)
def list_mandates(filters):
    return {"items": sepa.list_mandates(service(), current_principal(), filters.get("cooperative"))}


@blp.get(f"/mandates/{RUM_PATH}.pdf")
@login_required
def mandate_pdf(rum):
    """The pre-filled mandate to print, sign and send back."""
    filename, data = sepa_batches.mandate_pdf(service(), current_principal(), _rum(rum))
    return _file(data, "application/pdf", filename, "inline")


@blp.get(f"/mandates/{RUM_PATH}")
@login_required
@blp.response(200, MandateOut)
def get_mandate(rum):
    return sepa.get_mandate(service(), current_principal(), _rum(rum))


@blp.patch(f"/mandates/{RUM_PATH}")
@staff_required
@blp.arguments(AmendIn)
@blp.response(200, MandateOut)
def amend_mandate(data, rum):
    """A new IBAN keeps the RUM; the next collection carries the amendment."""
    return sepa.amend_mandate(service(), current_principal(), _rum(rum), data)


@blp.post(f"/mandates/{RUM_PATH}/activate")
@staff_required
@blp.arguments(ActivateIn)
@blp.response(200, MandateOut)
def activate_mandate(data, rum):
    """The signature date of the paper mandate: the mandate is ``active``."""
    return sepa.activate_mandate(service(), current_principal(), _rum(rum), data["signed_on"])


@blp.post(f"/mandates/{RUM_PATH}/revoke")
@staff_required
@blp.response(200, MandateOut)
def revoke_mandate(rum):
    return sepa.revoke_mandate(service(), current_principal(), _rum(rum))


@blp.get("/sepa/collections")
@staff_required
@blp.arguments(CollectionFilter, location="query")
@blp.response(200, CollectionList)
def list_collections(filters):
    """The department's collections, of one date (``?date=``) or status."""
    return {"items": sepa_batches.list_collections(service(), current_principal(), filters.get("date"),
                                                   filters.get("status"))}


@blp.post("/sepa/batches")
@staff_required
@blp.arguments(BatchIn)
@blp.response(201, BatchOut)
@blp.doc(**links(201, ReadThisBatch=link("get", "/api/payment/sepa/batches/{batch_id}", "Le lot et ses prélèvements", batch_id="$response.body#/id"),
                 ExportThisBatch=link("get", "/api/payment/sepa/batches/{batch_id}/pain008.xml",
                                      "Le fichier pain.008 du lot", batch_id="$response.body#/id")))
def build_batch(data):
    """The batch of a collection date; 409 when nothing is due or the date's batch exists."""
    return sepa_batches.build_batch(service(), current_principal(), data["collection_date"])


@blp.get("/sepa/batches")
@staff_required
@blp.response(200, BatchList)
def list_batches():
    return {"items": sepa_batches.list_batches(service(), current_principal())}


@blp.get("/sepa/batches/<int:batch_id>")
@staff_required
@blp.response(200, BatchDetail)
def get_batch(batch_id):
    return sepa_batches.get_batch(service(), current_principal(), batch_id)


@blp.get("/sepa/batches/<int:batch_id>/pain008.xml")
@staff_required
@blp.arguments(VersionQuery, location="query")
def batch_file(query, batch_id):
    """The ``pain.008.001.08`` file (``?version=02``: ``pain.008.001.02``); the batch becomes ``exported``."""
    filename, data = sepa_batches.export_batch(service(), current_principal(), batch_id, query["version"])
    return _file(data, "application/xml", filename)
