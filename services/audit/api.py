"""``/api/audit``: the audit log's listing (JSON pages, or CSV with ``Accept: text/csv``),
the chain's check, and what it holds about a cooperative (for the adhesion service's
personal-data export). Thin routes: parse, call a use case, answer."""
from flask import Response, request
from flask_smorest import Blueprint

from services.audit import service as audit
from services.audit.schemas import EventsQuery, RecordPage, VerifyOut
from shared.auth import current_principal, login_required
from shared.csv_export import csv_bytes
from shared.personal_data import internal_route
from shared.service import service

blp = Blueprint("audit", __name__, url_prefix="/api/audit", description="Journal des actions")
CSV_HEADER = ("N°", "Date (UTC)", "Service", "Auteur", "Type d'auteur", "Département", "Action", "Cible", "Détails",
              "Adresse", "Requête")


@blp.get("/events")
@login_required
@blp.arguments(EventsQuery, location="query")
@blp.response(200, RecordPage)
@blp.doc(responses={"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/RecordPage"}},
                                         "text/csv": {}}}})
def events(filters):
    """Staff: their department's records; the national admin: every department's (or the
    one asked). Newest first, by pages; the whole selection as CSV with ``Accept: text/csv``."""
    if request.accept_mimetypes.best_match(["application/json", "text/csv"]) == "text/csv":
        rows = audit.export_records(service(), current_principal(), filters)
        body = csv_bytes(CSV_HEADER, ([row["seq"], row["at"], row["service"], row["actor"], row["actor_kind"],
                                       row["department"], row["action"], row["target"],
                                       audit.details_text(row["details"]), row["address"], row["request_id"]]
                                      for row in rows))
        response = Response(body, mimetype="text/csv")
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
        response.headers["Content-Disposition"] = 'attachment; filename="journal.csv"'
        return response
    return audit.list_records(service(), current_principal(), filters)


@blp.get("/verify")
@login_required
@blp.response(200, VerifyOut)
def verify():
    """Walk the whole chain (national admin): ``ok``, or the number of the first record
    whose hash or link does not hold."""
    return audit.verify(service(), current_principal())


internal_route(blp, audit.personal_data)  # GET …/internal/personal-data/<number>
