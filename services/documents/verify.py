"""``/verify/<token>``: the public check behind a document's QR code. It says whether the
document is valid and, if so, whose and which — nothing more."""
from flask import Response, jsonify, render_template_string, request
from flask_smorest import Blueprint
from sqlalchemy import select

from services.documents import domain
from services.documents.models import Document
from services.documents.schemas import VerifyOut
from shared.service import service

blp = Blueprint("verify", __name__, url_prefix="/verify", description="Vérification publique d'un document")

PAGE = """<!DOCTYPE html>
<html lang="fr">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{ heading }} – Retkoop</title>
<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#222}
h1{color:{{ "#1d6b2f" if document else "#a33" }}}dt{font-weight:bold;margin-top:.6rem}</style></head>
<body>
<h1>{{ heading }}</h1>
{% if document %}
<p>Ce document a bien été délivré par l'OCCE et il est en vigueur.</p>
<dl><dt>Document</dt><dd>{{ label }}</dd>
<dt>Coopérative</dt><dd>{{ document.cooperative }}</dd>
<dt>Année scolaire</dt><dd>{{ document.year }}</dd></dl>
{% else %}
<p>Ce lien ne correspond à aucun document en vigueur : le document est inconnu, ou il a
été remplacé par une version plus récente.</p>
{% endif %}
</body></html>
"""


def wants_json() -> bool:
    return request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json"


def current_by_token(token: str) -> dict | None:
    if not domain.looks_like_token(token):
        return None
    with service().database.session() as session:
        row = session.scalars(
            select(Document).where(
                Document.verify_token == token,
                Document.generated_at.is_not(None),
                Document.superseded_at.is_(None),
            )
        ).first()
        if row is None:
            return None
        return {"valid": True, "cooperative": row.cooperative_name, "year": row.year, "kind": row.kind}


@blp.get("/<token>")
@blp.response(200, VerifyOut)
@blp.alt_response(404, schema=VerifyOut, description="Document inconnu ou remplacé : {\"valid\": false}")
def verify(token):
    document = current_by_token(token)
    status = 200 if document else 404
    if wants_json():
        response = jsonify(document or {"valid": False})
    else:
        html = render_template_string(
            PAGE,
            document=document,
            heading="Document valide" if document else "Document invalide ou remplacé",
            label=domain.LABELS[document["kind"]] if document else "",
        )
        response = Response(html, mimetype="text/html")
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Vary"] = "Accept"
    return response
