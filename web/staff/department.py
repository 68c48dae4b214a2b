"""The department's adhesions with their counts, new cooperatives, the email log."""
from flask import flash, redirect, render_template, request, url_for

from shared.identifiers import is_valid_year
from web import client, forms, pages
from web.client import ApiFailure
from web.formatting import MAIL_KIND_LABELS, MAIL_STATUS_LABELS, STATUS_LABELS, campaign_year, recent_years
from web.security import staff_required
from web.staff import bp

CHOICE = {"oui": True, "non": False}
EMAILS_PAGE = 50  # a September log has thousands of emails: pages, newest first
COUNT_LABELS = {  # (one, several): in French 0 and 1 take the singular
    "draft": ("non envoyée", "non envoyées"),
    "submitted": ("saisie", "saisies"),
    "correction_requested": ("à corriger", "à corriger"),
    "validated": ("validée", "validées"),
}


@bp.get("/")
@staff_required
def index():
    return redirect(url_for("staff.adhesions"))


@bp.get("/adhesions")
@staff_required
def adhesions():
    year = request.args.get("annee") or campaign_year()
    pages.checked(year=year)
    status = request.args.get("statut", "")
    late = request.args.get("retard", "")
    unpaid = request.args.get("impaye", "")
    params = {"year": year}
    if status in STATUS_LABELS:
        params["status"] = status
    if late in CHOICE:
        params["late"] = "true" if CHOICE[late] else "false"
    if unpaid == "oui":
        params["unpaid"] = "true"
    listing = client.get("/api/adhesion/adhesions", params=params)
    missing = []
    if not (status or late or unpaid):
        missing = client.get("/api/adhesion/cooperatives", params={"year": year, "status": "not_started"})["items"]
    counts = listing.get("counts", {})
    # who a reminder reaches is the adhesion service's rule (the round it sends asks the same)
    to_remind = client.get(f"/api/adhesion/reminders/{year}")["count"] if not (status or late or unpaid) else 0
    reminders = reminder_progress(year, request.args.get("rappels", type=int))
    return render_template(
        "staff/adhesions.html", year=year, years=recent_years(campaign_year()), items=listing["items"],
        counts=counts, total=sum(counts.values()), missing=missing,
        filters={"statut": status, "retard": late, "impaye": unpaid}, status_labels=STATUS_LABELS,
        count_labels=COUNT_LABELS, to_remind=to_remind, reminders=reminders,
    )


def reminder_progress(year: str, total: int | None) -> dict | None:
    """The latest round's emails by status. Its size comes from the round's events; right
    after sending, before notify has read any, from the answer of the round itself: what
    is not sent, failed or skipped is waiting."""
    progress = client.get(f"/api/notify/reminders/{year}")
    if progress["round"] is None and not total:
        return None
    size = max(total or 0, progress.get("total", 0))
    done = progress["sent"] + progress["failed"] + progress.get("skipped", 0)
    return {**progress, "total": size, "queued": size - done}


@bp.post("/adhesions/<year>/rappel")
@staff_required
def send_reminders(year):
    pages.checked(year=year)
    if request.form.get("confirmer") != "oui":  # hundreds of emails: never on a stray click
        flash("Cochez la case pour confirmer l'envoi du rappel.", "error")
        return redirect(url_for("staff.adhesions", annee=year))
    try:
        answer = client.post(f"/api/adhesion/reminders/{year}")
    except ApiFailure as failure:
        if failure.status not in (400, 404):
            raise
        flash(failure.message, "error")
        return redirect(url_for("staff.adhesions", annee=year))
    flash(f"Rappel envoyé à {answer['count']} coopérative(s).", "success")
    return redirect(url_for("staff.adhesions", annee=year, rappels=answer["count"]) + "#rappel")


@bp.route("/cooperatives/nouvelle", methods=["GET", "POST"])
@staff_required
def new_cooperative():
    if request.method == "GET":
        return render_template("staff/cooperative_new.html", values={}, errors={})
    values = {name: request.form.get(name, "").strip() for name in ("number", "name", "town", "email", "password")}
    values["number"] = values["number"].upper()
    override = request.form.get("other_department") == "oui"
    try:
        created = client.post("/api/adhesion/cooperatives", json={**values, "other_department": override})
    except ApiFailure as failure:
        if failure.status not in (400, 403, 409, 422):
            raise
        errors = forms.simple_errors(failure.fields) or {"_form": [failure.message]}
        values.pop("password")
        # the national administrator may confirm a number that names another department
        may_override = bool(failure.body.get("may_override"))
        return render_template("staff/cooperative_new.html", values=values, errors=errors, may_override=may_override,
                               problem=failure.message), failure.status
    flash(f"La coopérative {created['number']} ({created['name']}) est créée. L'école se connecte avec "
          f"l'identifiant {created['number']} et le mot de passe choisi.", "success")
    return redirect(url_for("staff.adhesions"))


@bp.get("/emails")
@staff_required
def emails():
    filters = {
        "cooperative": request.args.get("cooperative", "").strip().upper(),
        "kind": request.args.get("type", ""),
        "status": request.args.get("statut", ""),
        "year": request.args.get("annee", "") if is_valid_year(request.args.get("annee", "")) else "",
    }
    page = request.args.get("page", "1")
    page = min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1
    params = {"limit": EMAILS_PAGE + 1, "offset": (page - 1) * EMAILS_PAGE}  # one more: is there a next page?
    if filters["year"]:
        params["year"] = filters["year"]
    if filters["cooperative"]:
        params["cooperative"] = filters["cooperative"]
    if filters["kind"] in MAIL_KIND_LABELS:
        params["kind"] = filters["kind"]
    if filters["status"] in MAIL_STATUS_LABELS:
        params["status"] = filters["status"]
    problem = None
    try:
        items = client.get("/api/notify/messages", params=params)["items"]
    except ApiFailure as failure:
        if failure.status not in (400, 422):
            raise
        items, problem = [], forms.simple_errors(failure.fields).get("cooperative", [failure.message])[0]
    more = len(items) > EMAILS_PAGE
    try:  # the department's validations whose documents could not be produced: their confirmations wait
        failed_documents, documents_problem = client.get("/api/documents/failures")["items"], None
    except ApiFailure as failure:  # the page still shows the email log, and says this part is missing
        failed_documents, documents_problem = [], failure.message
    return render_template("staff/emails.html", items=items[:EMAILS_PAGE], filters=filters, problem=problem,
                           kinds=MAIL_KIND_LABELS, statuses=MAIL_STATUS_LABELS, page=page, more=more,
                           years=recent_years(campaign_year()), failed_documents=failed_documents,
                           documents_problem=documents_problem, kind_labels=pages.KIND_LABELS)


@bp.post("/documents/<number>/<year>/reemettre")
@staff_required
def reissue_documents(number, year):
    """« Réémettre les documents » on a confirmation that failed: the documents service
    draws them again and the confirmation goes out with them."""
    pages.checked(number, year)
    try:
        client.post(f"/api/documents/{number}/{year}/reissue")
    except ApiFailure as failure:
        if failure.status not in (403, 404, 409, 503):  # 503: the store is still out of reach
            raise
        flash(failure.message, "error")
    else:
        flash(f"Documents de {number} réémis : la confirmation repart avec eux.", "success")
    return redirect(url_for("staff.emails", cooperative=number))
