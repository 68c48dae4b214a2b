"""« Journal »: who did what and when in the department (the audit log), filtered by
cooperative, person, action and dates, by pages of 100; the same selection as CSV."""
import re

from flask import Response, render_template, request

from web import client, forms
from web.client import ApiFailure
from web.security import staff_required
from web.staff import bp

# The actions staff ask about most, in the guide's words; any other shows as recorded.
ACTION_LABELS = {
    "auth.login": "Connexion", "auth.login_failed": "Connexion refusée", "auth.logout": "Déconnexion",
    "auth.password_reset": "Mot de passe réinitialisé", "auth.reset_requested": "Mot de passe oublié",
    "auth.reset_sent": "Lien de mot de passe envoyé", "auth.password_changed": "Mot de passe changé",
    "cooperative.created": "Coopérative créée", "cooperative.changed": "Coopérative modifiée",
    "cooperatives.imported": "Coopératives importées", "rates.changed": "Tarifs modifiés",
    "adhesion.saved": "Adhésion enregistrée", "adhesion.submitted": "Adhésion envoyée",
    "adhesion.correction_requested": "Correction demandée", "adhesion.checklist_changed": "Liste de contrôle",
    "adhesion.validated": "Adhésion validée", "adhesion.reopened": "Adhésion rouverte",
    "payment.recorded": "Paiement enregistré", "payment.reversed": "Paiement annulé",
    "statement.imported": "Relevé importé", "statement_line.confirmed": "Ligne de relevé rapprochée",
    "slip.opened": "Remise de chèques ouverte", "slip.closed": "Remise de chèques close",
    "ledger.entry_written": "Écriture du cahier", "documents.reissued": "Documents réémis",
    "personal_data.exported": "Données personnelles exportées", "personal_data.erased": "Données personnelles effacées",
    "retention.started": "Durées de conservation appliquées", "retention.applied": "Durées de conservation appliquées",
}
DAY = re.compile(r"\d{4}-\d{2}-\d{2}\Z")


def _filters() -> dict:
    return {
        "target": request.args.get("cooperative", "").strip().upper()[:100],
        "actor": request.args.get("personne", "").strip()[:100],
        "action": request.args.get("action", "").strip(),
        "from": request.args.get("du", "").strip(),
        "to": request.args.get("au", "").strip(),
        "before": request.args.get("avant", "").strip(),
    }


def _params(filters: dict) -> dict:
    params = {key: value for key, value in filters.items() if value and key not in ("from", "to", "before")}
    params.update({key: filters[key] for key in ("from", "to") if DAY.match(filters[key])})
    if filters["before"].isdigit():
        params["before"] = filters["before"]
    return params


@bp.get("/journal")
@staff_required
def journal():
    filters = _filters()
    problems = {}
    try:
        page = client.get("/api/audit/events", params={**_params(filters), "limit": 100})
    except ApiFailure as failure:
        if failure.status not in (400, 422):
            raise
        page, problems = {"items": [], "next": None}, forms.simple_errors(failure.fields)
    return render_template("staff/journal.html", page=page, filters=filters, problems=problems,
                           actions=ACTION_LABELS)


@bp.get("/journal.csv")
@staff_required
def journal_csv():
    params = _params(_filters())
    params.pop("before", None)
    answer = client.call("get", "/api/audit/events", params=params, raw=True, accept="text/csv")
    response = Response(answer.content, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="journal.csv"'
    return response
