"""The department's cooperatives: searched and paged list, one cooperative's page (edit,
deactivate, send a password link), and the bulk import with its preview and progress."""
import secrets
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for

from web import client, forms, pages
from web.client import ApiFailure
from web.formatting import STATUS_LABELS, campaign_year
from web.security import staff_required
from web.staff import bp

SORTS = {"numero": "number", "nom": "name", "commune": "town", "statut": "status", "date": "date"}
LIST_STATUS_LABELS = {"not_started": "Non commencée", **STATUS_LABELS}
ACTION_LABELS = {"created": "à créer (invitation par e-mail)", "updated": "à modifier", "unchanged": "inchangée"}
IMPORT_LIMIT = 2 * 1024 * 1024
TOKEN_LENGTH = 22
STAGED_FOR = timedelta(hours=1)  # a previewed file waits this long for « Importer », then is deleted


@bp.get("/cooperatives")
@staff_required
def cooperatives():
    year = request.args.get("annee") or campaign_year()
    pages.checked(year=year)
    search = request.args.get("q", "").strip()[:100]
    sort = request.args.get("tri", "numero")
    status = request.args.get("statut", "")
    try:
        page = max(1, min(10000, int(request.args.get("page", "1"))))
    except ValueError:
        page = 1
    params = {"year": year, "page": page, "per_page": 50, "sort": SORTS.get(sort, "number")}
    if search:
        params["q"] = search
    if status in LIST_STATUS_LABELS:
        params["status"] = status
    listing = client.get("/api/adhesion/cooperatives", params=params)
    return render_template("staff/cooperatives.html", listing=listing, year=year, search=search, sort=sort,
                           status=status, sorts=SORTS, status_labels=LIST_STATUS_LABELS)


@bp.route("/cooperatives/<number>/fiche", methods=["GET", "POST"])
@staff_required
def cooperative(number):
    pages.checked(number=number)
    errors, problem = {}, None
    if request.method == "POST":
        payload = {name: request.form.get(name, "").strip() for name in ("name", "town", "email")}
        try:
            client.patch(f"/api/adhesion/cooperatives/{number}", json=payload)
        except ApiFailure as failure:
            if failure.status not in (400, 422):
                raise
            errors, problem = forms.simple_errors(failure.fields), failure.message
        else:
            flash("Coopérative enregistrée.", "success")
            return redirect(url_for("staff.cooperative", number=number))
    return cooperative_page(number, errors=errors, problem=problem, status=422 if errors else 200)


def cooperative_page(number: str, status: int = 200, **extra):
    detail = client.get(f"/api/adhesion/cooperatives/{number}/detail")
    values = {**detail, **(request.form.to_dict() if extra.get("errors") else {})}
    departments = client.get("/api/adhesion/departments")["items"] if session.get("national") else []
    context = {"errors": {}, "problem": None, "confirm_deactivation": False, **extra}
    return render_template("staff/cooperative.html", detail=detail, values=values, departments=departments,
                           suggested_department=session.get("department"), **context), status


@bp.post("/cooperatives/<number>/activation")
@staff_required
def activation(number):
    pages.checked(number=number)
    active = request.form.get("active") == "oui"
    if not active and request.form.get("confirmation") != "oui":  # one click never deactivates
        return cooperative_page(number, confirm_deactivation=True)
    client.patch(f"/api/adhesion/cooperatives/{number}", json={"active": active})
    flash("Coopérative réactivée." if active else
          "Coopérative désactivée : elle ne peut plus se connecter et ne reçoit plus de rappel.", "success")
    return redirect(url_for("staff.cooperative", number=number))


@bp.post("/cooperatives/<number>/departement")
@staff_required
def move_cooperative(number):
    """The national administrator moves a cooperative created in the wrong department."""
    pages.checked(number=number)
    department = request.form.get("department", "").strip()
    try:
        client.patch(f"/api/adhesion/cooperatives/{number}", json={"department": department})
    except ApiFailure as failure:
        if failure.status not in (400, 403, 409, 422):
            raise
        flash(failure.message, "error")
        return redirect(url_for("staff.cooperative", number=number) + "#departement")
    flash(f"Coopérative déplacée vers le département {department}.", "success")
    if department != session.get("department"):
        return redirect(url_for("staff.cooperatives"))
    return redirect(url_for("staff.cooperative", number=number))


@bp.post("/cooperatives/<number>/lien")
@staff_required
def reset_link(number):
    pages.checked(number=number)
    client.post(f"/api/adhesion/cooperatives/{number}/password-reset")
    flash("Un lien pour choisir un nouveau mot de passe (valable une heure) est envoyé à l'adresse de l'école.",
          "success")
    return redirect(url_for("staff.cooperative", number=number))


def _import_dir() -> Path:
    """The signed-in staff's department's staged files: a token staged by one department is
    not found by another's staff (404), whose import would land the file in their own."""
    department = session.get("department") or ""
    if not (department.isascii() and department.isalnum()):  # 38, 974, 2A: never a path
        abort(403)
    directory = Path(current_app.config["IMPORT_DIR"]) / department
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    return directory


def _purge() -> None:
    """Delete every staged file (all departments) older than STAGED_FOR: run each time a
    file is staged and each time one is confirmed, so nothing outlives an hour by more
    than the time until the next import."""
    oldest = time.time() - STAGED_FOR.total_seconds()
    root = Path(current_app.config["IMPORT_DIR"])
    for path in [*root.glob("*.csv"), *root.glob("*/*.csv")]:
        try:
            if path.stat().st_mtime < oldest:
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            pass  # another request purged it first


def _stored(token: str) -> Path:
    if len(token) != TOKEN_LENGTH or not token.replace("-", "").replace("_", "").isalnum():
        abort(400)
    path = _import_dir() / f"{token}.csv"
    try:
        staged_at = path.stat().st_mtime
    except FileNotFoundError:
        abort(404)
    if staged_at < time.time() - STAGED_FOR.total_seconds():
        abort(404)  # expired: the next purge deletes it
    return path


@bp.route("/cooperatives/import", methods=["GET", "POST"])
@staff_required
def import_cooperatives():
    """Upload → the API's dry run as a preview; nothing is written until « Importer »."""
    if request.method == "GET":
        return render_template("staff/import.html", preview=None)
    upload = request.files.get("file")
    body = upload.read(IMPORT_LIMIT + 1) if upload else b""
    if not body:
        return render_template("staff/import.html", preview=None, problem="Choisissez un fichier CSV."), 422
    try:
        preview = client.post("/api/adhesion/cooperatives/import", params={"dry_run": "1"}, data=body,
                              content_type="text/csv")
    except ApiFailure as failure:
        if failure.status not in (400, 413, 422):
            raise
        return render_template("staff/import.html", preview=None, problem=failure.message,
                               errors=failure.body.get("errors", [])), failure.status
    _purge()
    token = secrets.token_urlsafe(16)
    (_import_dir() / f"{token}.csv").write_bytes(body)
    return render_template("staff/import.html", preview=preview, token=token, actions=ACTION_LABELS,
                           filename=upload.filename)


@bp.post("/cooperatives/import/<token>")
@staff_required
def confirm_import(token):
    _purge()
    path = _stored(token)
    since = datetime.now(timezone.utc).isoformat()
    try:
        result = client.post("/api/adhesion/cooperatives/import", data=path.read_bytes(), content_type="text/csv")
    except ApiFailure as failure:
        if failure.status not in (400, 409, 413, 422):
            raise
        flash(failure.message, "error")
        return redirect(url_for("staff.import_cooperatives"))
    finally:
        path.unlink(missing_ok=True)
    flash(f"Import terminé : {result['created']} coopérative(s) créée(s), {result['updated']} modifiée(s), "
          f"{result['unchanged']} inchangée(s).", "success")
    return redirect(url_for("staff.import_progress", total=result["created"], depuis=since))


@bp.get("/cooperatives/import/suivi")
@staff_required
def import_progress():
    """The invitations leave one by one: their count, refreshed until all are sent."""
    try:
        total = max(0, min(5000, int(request.args.get("total", "0"))))
        since = _utc(datetime.fromisoformat(request.args.get("depuis", "")))
    except ValueError:
        abort(400)
    sent = failed = 0
    if total:
        for message in client.get("/api/notify/messages", params={"kind": "invitation", "limit": 5000})["items"]:
            if _utc(datetime.fromisoformat(message["created_at"])) >= since:
                sent += message["status"] == "sent"
                failed += message["status"] == "failed"
    return render_template("staff/import_progress.html", total=total, sent=sent, failed=failed,
                           done=sent + failed >= total)


def _utc(moment: datetime) -> datetime:
    """A moment without offset (an address typed by hand, an older answer) is UTC, as the
    page writes and the services store them: never compared naive against aware."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)
