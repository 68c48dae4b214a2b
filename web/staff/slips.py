"""« Remises de chèques »: staff open a slip, add each cheque as it arrives (its payment is
recorded at once), close the slip and print the *bordereau* for the bank."""
from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from web import client, forms
from web.client import ApiFailure
from web.formatting import campaign_year
from web.security import staff_required

bp = Blueprint("slips", __name__, url_prefix="/personnel/remises")
SLIP_STATUS_LABELS = {"open": "ouvert", "closed": "clos, en attente du crédit", "banked": "crédité"}


@bp.app_template_filter("slip_status_label")
def slip_status_label(status: str) -> str:
    return SLIP_STATUS_LABELS.get(status, status)


@bp.get("")
@staff_required
def index():
    return render_template("staff/slips.html", slips=client.get("/api/payment/cheque-slips")["items"])


@bp.post("")
@staff_required
def open_slip():
    account = request.form.get("account", "").strip()
    slip = client.post("/api/payment/cheque-slips", json={"account": account} if account else {})
    flash(f"Bordereau n° {slip['number']} ouvert : ajoutez les chèques à mesure qu'ils arrivent.", "success")
    return redirect(url_for("slips.detail", slip_id=slip["id"]))


@bp.get("/<int:slip_id>")
@staff_required
def detail(slip_id, form=None, errors=None, problem=None, status=200):
    slip = client.get(f"/api/payment/cheque-slips/{slip_id}")
    form = form or {"cooperative": "", "year": request.args.get("annee") or campaign_year(), "amount": "",
                    "cheque_number": "", "bank": "", "drawer": ""}
    return render_template("staff/slip.html", slip=slip, form=form, errors=errors or {}, problem=problem), status


@bp.post("/<int:slip_id>/cheques")
@staff_required
def add_cheque(slip_id):
    form = {k: request.form.get(k, "").strip() for k in ("cooperative", "year", "amount", "cheque_number", "bank",
                                                         "drawer")}
    body = {**form, "cooperative": form["cooperative"].upper(), "amount": forms.money_value(form["amount"])}
    try:
        answer = client.post(f"/api/payment/cheque-slips/{slip_id}/cheques", json=body)
    except ApiFailure as failure:
        if failure.status not in (400, 409, 422):
            raise
        return detail(slip_id, form, forms.simple_errors(failure.fields), failure.message, status=422)
    flash(f"Chèque n° {answer['cheque_number']} ajouté ; paiement enregistré pour {answer['cooperative']}.",
          "success")
    return redirect(url_for("slips.detail", slip_id=slip_id) + "#ajout")


@bp.post("/<int:slip_id>/cloturer")
@staff_required
def close(slip_id):
    try:
        slip = client.post(f"/api/payment/cheque-slips/{slip_id}/close")
    except ApiFailure as failure:
        if failure.status != 409:
            raise
        flash(failure.message, "error")
        return redirect(url_for("slips.detail", slip_id=slip_id))
    flash(f"Bordereau clos : {slip['count']} chèque(s). Imprimez-le pour la banque.", "success")
    return redirect(url_for("slips.detail", slip_id=slip_id))


@bp.get("/<int:slip_id>/bordereau.pdf")
@staff_required
def pdf(slip_id):
    upstream = client.get(f"/api/payment/cheque-slips/{slip_id}.pdf", raw=True)
    response = Response(upstream.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = upstream.headers.get(
        "Content-Disposition", f'inline; filename="bordereau-{date.today()}.pdf"')
    response.headers["Cache-Control"] = "private, no-store"
    return response
