"""``/verify/<token>``: the public check behind a document's QR code. It says whether the
document is valid and, if so, whose and which — nothing more."""
from flask import Response, jsonify, render_template, request
from flask_smorest import Blueprint

from services.documents import domain
from services.documents import service as documents
from services.documents.schemas import VerifyOut
from shared.service import service

blp = Blueprint("verify", __name__, url_prefix="/verify", description="Vérification publique d'un document")


def wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


@blp.get("/<token>")
@blp.response(200, VerifyOut)
@blp.alt_response(404, schema=VerifyOut, description="Document inconnu ou remplacé : {\"valid\": false}")
# a browser (the QR code) gets the page: both answers are documented
@blp.doc(responses={status: {"description": description, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/VerifyOut"}},
    "text/html": {"schema": {"type": "string"}}}}
    for status, description in (("200", "Document valide"), ("404", "Document inconnu ou remplacé : {\"valid\": false}"))})
def verify(token):
    document = documents.verification(service(), token)
    status = 200 if document else 404
    if wants_json():
        response = jsonify({key: document[key] for key in ("valid", "cooperative", "year", "kind")}
                           if document else {"valid": False})
    else:
        html = render_template(
            "verify.html",
            document=document,
            department=f"OCCE {document['department']}" if document else "",
            heading="Document valide" if document else "Document invalide ou remplacé",
            label=domain.LABELS[document["kind"]] if document else "",
        )
        response = Response(html, mimetype="text/html")
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Vary"] = "Accept"
    return response
