"""« Données personnelles »: what is kept about the people of a cooperative, why, how
long and how to ask for a copy or an erasure; a signed-in school downloads its copy here."""
import json

from flask import Blueprint, Response, render_template, session

from web import client
from web.security import school_required

bp = Blueprint("privacy", __name__)


@bp.get("/donnees-personnelles")
def page():
    return render_template("privacy.html")


@bp.get("/donnees-personnelles/copie.json")
@school_required
def copy():
    """The school's own copy, in one JSON document (every service's part)."""
    number = session["cooperative"]
    document = client.get(f"/api/adhesion/cooperatives/{number}/personal-data")
    response = Response(json.dumps(document, ensure_ascii=False, indent=2), mimetype="application/json")
    response.headers["Content-Disposition"] = f'attachment; filename="donnees-personnelles-{number}.json"'
    return response
