"""« Prélèvements SEPA »: the department as creditor, its collection dates, the mandates
(staff record the signature, revoke), and the batches to build, download and follow
(docs/sepa.md). Every figure is the payment service's."""
import re
from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from web import client, forms
from web.client import ApiFailure
from web.formatting import campaign_year
from web.security import staff_required

bp = Blueprint("sepa", __name__, url_prefix="/personnel/prelevements")
CREDITOR_FIELDS = ("name", "ics", "iban", "bic", "street", "postcode", "town", "country")
_DAY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})\Z")


def _day(text: str) -> str:
    """``15/10/2025`` or ``2025-10-15`` → ISO; anything else is sent as typed (the API names it)."""
    text = text.strip()
    match = _DAY.match(text)
    if match:
        try:
            return date(int(match.group(3)), int(match.group(2)), int(match.group(1))).isoformat()
        except ValueError:
            return text
    return text


@bp.get("")
@staff_required
def index(creditor_form=None, errors=None, problem=None, status=200):
    year = request.args.get("annee") or campaign_year()
    creditor = client.get_or_none("/api/payment/sepa/creditor")
    if creditor_form is None:
        creditor_form = {key: (creditor or {}).get(key, "") for key in ("name", "ics", "iban", "bic")}
        creditor_form.update({key: ((creditor or {}).get("address") or {}).get(key, "")
                              for key in ("street", "postcode", "town", "country")})
        creditor_form["country"] = creditor_form["country"] or "FR"
    dates = client.get(f"/api/payment/sepa/dates/{year}")["dates"] if creditor else []
    mandates = client.get("/api/payment/mandates")["items"] if creditor else []
    collections = client.get("/api/payment/sepa/collections")["items"] if creditor else []
    batches = client.get("/api/payment/sepa/batches")["items"] if creditor else []
    batched = {b["collection_date"] for b in batches}
    due_dates = sorted({c["collection_date"] for c in collections if c["status"] == "planned"} - batched)
    return render_template(
        "staff/sepa.html", year=year, creditor=creditor, form=creditor_form, errors=errors or {}, problem=problem,
        dates=dates, mandates=mandates, collections=collections, batches=batches, due_dates=due_dates,
        today=date.today().isoformat()), status


@bp.post("/creancier")
@staff_required
def save_creditor():
    form = {key: request.form.get(key, "").strip() for key in CREDITOR_FIELDS}
    body = {"name": form["name"], "ics": form["ics"], "iban": form["iban"], "bic": form["bic"],
            "address": {key: form[key] for key in ("street", "postcode", "town")} | {
                "country": form["country"].upper() or "FR"}}
    try:
        client.put("/api/payment/sepa/creditor", json=body)
    except ApiFailure as failure:
        if failure.status not in (400, 422):
            raise
        errors = forms.simple_errors(failure.fields)
        errors.update(forms.simple_errors((failure.fields or {}).get("address") or {}))
        return index(form, errors, failure.message, status=422)
    flash("Paramètres de créancier enregistrés : les écoles peuvent choisir le prélèvement.", "success")
    return redirect(url_for("sepa.index"))


@bp.post("/dates")
@staff_required
def save_dates():
    year = request.form.get("year", "") or campaign_year()
    days = [_day(part) for part in re.split(r"[\s,;]+", request.form.get("dates", "")) if part.strip()]
    try:
        client.put(f"/api/payment/sepa/dates/{year}", json={"dates": days})
    except ApiFailure as failure:
        if failure.status not in (400, 422):
            raise
        flash(f"Dates refusées : {failure.message} {' '.join(forms.flatten(failure.fields).get('dates', []))}",
              "error")
        return redirect(url_for("sepa.index", annee=year) + "#dates")
    flash("Dates de prélèvement enregistrées.", "success")
    return redirect(url_for("sepa.index", annee=year) + "#dates")


@bp.post("/mandats/<rum>/activer")
@staff_required
def activate(rum):
    return _mandate_action(rum, "activate", {"signed_on": _day(request.form.get("signed_on", ""))},
                           "Mandat {rum} actif : signature enregistrée.")


@bp.post("/mandats/<rum>/revoquer")
@staff_required
def revoke(rum):
    return _mandate_action(rum, "revoke", None, "Mandat {rum} révoqué.")


def _mandate_action(rum: str, action: str, body, done: str):
    try:
        client.post(f"/api/payment/mandates/{rum}/{action}", json=body)
    except ApiFailure as failure:
        if failure.status not in (400, 409, 422):
            raise
        flash(f"Mandat {rum} : {failure.message}", "error")
    else:
        flash(done.format(rum=rum), "success")
    return redirect(url_for("sepa.index") + "#mandats")


@bp.post("/lots")
@staff_required
def build():
    try:
        batch = client.post("/api/payment/sepa/batches",
                            json={"collection_date": _day(request.form.get("collection_date", ""))})
    except ApiFailure as failure:
        if failure.status not in (400, 409, 422):
            raise
        flash(failure.message, "error")
        return redirect(url_for("sepa.index") + "#lots")
    flash(f"Lot {batch['message_id']} préparé : {batch['count']} prélèvement(s). Téléchargez le fichier pour la "
          "banque.", "success")
    return redirect(url_for("sepa.batch", batch_id=batch["id"]))


@bp.get("/lots/<int:batch_id>")
@staff_required
def batch(batch_id):
    return render_template("staff/sepa_batch.html", batch=client.get(f"/api/payment/sepa/batches/{batch_id}"))


@bp.get("/lots/<int:batch_id>/<version>.xml")
@staff_required
def download(batch_id, version):
    upstream = client.get(f"/api/payment/sepa/batches/{batch_id}/pain008.xml",
                          params={"version": "02" if version == "pain008-02" else "08"}, raw=True)
    response = Response(upstream.content, mimetype="application/xml")
    response.headers["Content-Disposition"] = upstream.headers.get("Content-Disposition", "attachment")
    response.headers["Cache-Control"] = "private, no-store"
    return response
