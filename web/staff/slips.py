"""« Remises de chèques »: staff open a slip, add each cheque as it arrives (its payment is
recorded at once), close the slip and print the *bordereau* for the bank."""
from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from shared.identifiers import is_valid_number, is_valid_year
from web import client, forms
from web.client import ApiFailure
from web.formatting import campaign_year, year_label
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
def detail(slip_id, form=None, errors=None, problem=None, status=200, choices=None):
    slip = client.get(f"/api/payment/cheque-slips/{slip_id}")
    form = form or {"cooperative": "", "year": request.args.get("annee") or campaign_year(), "amount": "",
                    "cheque_number": "", "bank": "", "drawer": ""}
    return render_template("staff/slip.html", slip=slip, form=form, errors=errors or {}, problem=problem,
                           choices=choices or []), status


def find_cooperative(typed: str, year: str) -> dict:
    """The cooperative a cheque is for, typed as its number or as words of its name or town
    (« jules ferry mions »): ``{"number", "status", "name"}``, or ``{"problem", "choices"}``."""
    typed = " ".join(typed.split())[:100]
    if not typed:
        return {"problem": "Indiquez le numéro de la coopérative ou son nom."}
    params = {"q": typed, "page": 1, "per_page": 8}
    if is_valid_year(year):
        params["year"] = year
    try:
        listing = client.get("/api/adhesion/cooperatives", params=params)
    except ApiFailure as failure:
        if failure.status not in (400, 422):
            raise
        listing = {"items": [], "total": 0}
    items = listing["items"]
    exact = [i for i in items if i["number"] == typed.upper()]
    if exact or (len(items) == 1 and listing["total"] == 1):
        chosen = (exact or items)[0]
        return {"number": chosen["number"], "status": chosen["status"], "name": chosen["name"]}
    if is_valid_number(typed.upper()):  # a number this department does not know: the payment service says why
        return {"number": typed.upper(), "status": None, "name": ""}
    if not items:
        return {"problem": f"Aucune coopérative du département ne correspond à « {typed} »."}
    more = f" (et {listing['total'] - len(items)} autres)" if listing["total"] > len(items) else ""
    return {"problem": f"{listing['total']} coopératives correspondent à « {typed} »{more} : choisissez-la.",
            "choices": items}


def not_sent_yet(found: dict, year: str) -> str:
    """A cheque arriving before the school sent its adhesion: the amount due is unknown, so
    no payment can be recorded yet (payment.received needs dues); say what to do."""
    who = f"{found.get('name') or ''} ({found['number']})".strip()
    return (f"L'école {who} n'a pas encore envoyé son adhésion {year_label(year)} : le montant dû n'est pas "
            "connu, le chèque ne peut pas encore être enregistré. Gardez-le de côté (ou ajoutez-le à un prochain "
            "bordereau) et demandez à l'école d'envoyer son adhésion ; le chèque s'enregistre dès qu'elle l'a "
            "envoyée.")


@bp.post("/<int:slip_id>/cheques")
@staff_required
def add_cheque(slip_id):
    form = {k: request.form.get(k, "").strip() for k in ("cooperative", "year", "amount", "cheque_number", "bank",
                                                         "drawer")}
    form["cooperative"] = request.form.get("cooperative_choice", "").strip() or form["cooperative"]
    found = find_cooperative(form["cooperative"], form["year"])
    if "problem" in found:
        return detail(slip_id, form, {"cooperative": [found["problem"]]}, found["problem"], status=422,
                      choices=found.get("choices"))
    form["cooperative"] = found["number"]
    body = {**form, "amount": forms.money_value(form["amount"])}
    try:
        answer = client.post(f"/api/payment/cheque-slips/{slip_id}/cheques", json=body)
    except ApiFailure as failure:
        if failure.status not in (400, 409, 422):
            raise
        problem = failure.message
        if failure.status == 409 and found.get("status") in ("not_started", "draft", None):
            problem = not_sent_yet(found, form["year"])
        return detail(slip_id, form, forms.simple_errors(failure.fields), problem, status=422)
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
