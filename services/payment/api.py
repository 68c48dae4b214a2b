"""``/api/payment``: payments, what each cooperative owes, bank statements and their
reconciliation, cheque remittance slips. Thin routes: parse, call a use case, answer."""
from flask import Response, request
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge

from services.payment import personal_data as personal
from services.payment import reconciliation, slips
from services.payment import service as use
from services.payment.schemas import (
    AsideIn,
    ChequeIn,
    ChequeOut,
    ConfirmAllIn,
    ConfirmAllOut,
    ConfirmIn,
    DuesOut,
    LineList,
    LineOut,
    PaymentFilter,
    PaymentIn,
    PaymentList,
    PaymentRecorded,
    ReceivedList,
    ReversalIn,
    SlipIn,
    SlipList,
    SlipOut,
    StatementList,
    StatementOut,
)
from shared.auth import current_principal, login_required, staff_required
from shared.errors import ApiError, checked_path
from shared.openapi import link, links
from shared.personal_data import internal_route
from shared.service import service

blp = Blueprint("payment", __name__, url_prefix="/api/payment", description="Paiements, relevés et remises de chèques")

MAX_STATEMENT = 10 * 1024 * 1024  # a year of a busy account in CAMT.053; JSON calls keep 256 KB


@blp.post("/payments")
@staff_required
@blp.arguments(PaymentIn)
@blp.response(201, PaymentRecorded)
@blp.doc(**links(201, ReverseThisPayment=link(
    "post", "/api/payment/payments/{payment_id}/reverse", "Annuler ou rembourser ce paiement",
    payment_id="$response.body#/payment/id")))
def record_payment(data):
    """Record a payment received; the new dues state goes to the adhesion checklist."""
    return use.record_payment(service(), current_principal(), data["cooperative"], data["year"], data["amount"],
                              data["method"], data["reference"], data["received_on"])


@blp.get("/payments")
@staff_required
@blp.arguments(PaymentFilter, location="query")
@blp.response(200, PaymentList)
def list_payments(filters):
    """The department's payments (reversals included), optionally of one cooperative and/or year."""
    return {"items": use.list_payments(service(), current_principal(), filters.get("cooperative"),
                                        filters.get("year"))}


@blp.post("/payments/<int:payment_id>/reverse")
@staff_required
@blp.arguments(ReversalIn)
@blp.response(201, PaymentRecorded)
def reverse_payment(data, payment_id):
    """Cancel (or partly refund) a payment by a negative payment with its reason."""
    return use.reverse_payment(service(), current_principal(), payment_id, data["reason"], data["amount"])


@blp.get("/dues/<number>/<year>")
@login_required
@blp.response(200, DuesOut)
def get_dues(number, year):
    """Amount due, paid, balance, status and payment reference; 404 until the adhesion is submitted."""
    checked_path(number, year)
    return use.dues_of(service(), current_principal(), number, year)


@blp.get("/dues/<number>/<year>/payments")
@login_required
@blp.response(200, ReceivedList)
def get_received(number, year):
    """The payments received for the adhesion, net of reversals, oldest first (the school
    writes one line each in its cahier de comptes); 404 until the adhesion is submitted."""
    checked_path(number, year)
    return {"items": use.received_payments(service(), current_principal(), number, year)}


@blp.post("/statements")
@staff_required
@blp.response(201, StatementOut)
@blp.doc(**links(201, ReadThisStatementsLines=link(
    "get", "/api/payment/statements/{statement_id}/lines", "Les lignes du relevé et leurs suggestions",
    statement_id="$response.body#/id"), ConfirmThisStatementsSuggestions=link(
    "post", "/api/payment/statements/{statement_id}/confirm-suggested", "Confirmer les suggestions sûres",
    statement_id="$response.body#/id")))
def import_statement():
    """Import a bank statement (multipart field ``file``, ≤ 10 MB): CAMT.053, OFX, CFONB 120 or CSV."""
    request.max_content_length = MAX_STATEMENT
    try:
        upload = request.files.get("file")
    except RequestEntityTooLarge:
        raise ApiError(413, "Le relevé dépasse 10 Mo.")
    if upload is None:
        raise ApiError(422, "Joignez le relevé (champ « file »).", {"file": ["Champ obligatoire."]})
    return reconciliation.import_statement(service(), current_principal(), upload.read(), upload.filename or "")


@blp.get("/statements")
@staff_required
@blp.response(200, StatementList)
def list_statements():
    return {"items": reconciliation.list_statements(service(), current_principal())}


@blp.get("/statements/<int:statement_id>/lines")
@staff_required
@blp.response(200, LineList)
@blp.doc(**links(200, ConfirmTheFirstLine=link(
    "post", "/api/payment/statement-lines/{line_id}/confirm", "Dire ce que paie la première ligne",
    line_id="$response.body#/items/0/id"), SetTheFirstLineAside=link(
    "post", "/api/payment/statement-lines/{line_id}/aside", "Mettre la première ligne de côté",
    line_id="$response.body#/items/0/id")))
def statement_lines(statement_id):
    """Every line with its suggestions (best first), their scores and reasons."""
    return {"items": reconciliation.statement_lines(service(), current_principal(), statement_id)}


@blp.post("/statements/<int:statement_id>/confirm-suggested")
@staff_required
@blp.arguments(ConfirmAllIn)
@blp.response(200, ConfirmAllOut)
def confirm_suggested(data, statement_id):
    """Confirm every line whose best suggestion scores at least ``min_score`` (0.9)."""
    return reconciliation.confirm_suggested(service(), current_principal(), statement_id, data["min_score"])


@blp.post("/statement-lines/<int:line_id>/confirm")
@staff_required
@blp.arguments(ConfirmIn)
@blp.response(200, LineOut)
def confirm_line(data, line_id):
    """Record what a credit pays: ``allocations`` adding up to the line, or a cheque ``slip``."""
    return reconciliation.confirm_line(service(), current_principal(), line_id, data.get("allocations"),
                                       data.get("slip"))


@blp.post("/statement-lines/<int:line_id>/aside")
@staff_required
@blp.arguments(AsideIn)
@blp.response(200, LineOut)
def set_aside(data, line_id):
    """Leave a line aside (``ignored``), or bring it back with ``{"aside": false}``."""
    return reconciliation.set_aside(service(), current_principal(), line_id, data["aside"])


@blp.post("/cheque-slips")
@staff_required
@blp.arguments(SlipIn)
@blp.response(201, SlipOut)
@blp.doc(**links(201, ReadThisSlip=link(
    "get", "/api/payment/cheque-slips/{slip_id}", "Le bordereau et ses chèques", slip_id="$response.body#/id"), AddAChequeToThisSlip=link(
    "post", "/api/payment/cheque-slips/{slip_id}/cheques", "Ajouter un chèque au bordereau", slip_id="$response.body#/id"),
    CloseThisSlip=link("post", "/api/payment/cheque-slips/{slip_id}/close", "Clore le bordereau", slip_id="$response.body#/id"),
    PrintThisSlip=link("get", "/api/payment/cheque-slips/{slip_id}.pdf", "Le bordereau à imprimer", slip_id="$response.body#/id")))
def open_slip(data):
    return slips.open_slip(service(), current_principal(), data["account"])


@blp.get("/cheque-slips")
@staff_required
@blp.response(200, SlipList)
def list_slips():
    return {"items": slips.list_slips(service(), current_principal())}


@blp.get("/cheque-slips/<int:slip_id>")
@staff_required
@blp.response(200, SlipOut)
def get_slip(slip_id):
    return slips.get_slip(service(), current_principal(), slip_id)


@blp.post("/cheque-slips/<int:slip_id>/cheques")
@staff_required
@blp.arguments(ChequeIn)
@blp.response(201, ChequeOut)
def add_cheque(data, slip_id):
    """Add a cheque to an open slip; its payment (method ``cheque``) is recorded at once."""
    return slips.add_cheque(service(), current_principal(), slip_id, data)


@blp.post("/cheque-slips/<int:slip_id>/close")
@staff_required
@blp.response(200, SlipOut)
def close_slip(slip_id):
    return slips.close_slip(service(), current_principal(), slip_id)


@blp.get("/cheque-slips/<int:slip_id>.pdf")
@staff_required
def slip_pdf(slip_id):
    """The *bordereau de remise de chèques* to print and bring to the bank."""
    filename, pdf = slips.slip_pdf(service(), current_principal(), slip_id)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


internal_route(blp, personal.export)  # GET …/internal/personal-data/<number>
