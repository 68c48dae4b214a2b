"""The school's pages: home with the status banner, the adhesion form, the PDFs."""
from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for

from web import carry, client, engagement, forms, ledger, pages
from web.client import ApiFailure
from web.formatting import campaign_year, eur, renewal_window, short_department
from web.security import school_required

bp = Blueprint("school", __name__)


def number() -> str:
    return session["cooperative"]


@bp.get("/accueil")
@school_required
def home():
    year = campaign_year()
    adhesion, closed, documents = None, None, None
    try:
        adhesion = client.get(pages.adhesion_path(number(), year))
    except ApiFailure as failure:
        if failure.status != 404:
            raise
        closed = failure.message
    if adhesion and adhesion["status"] == "validated":
        documents = school_documents(year)
    window = renewal_window(pages.load_rates(year) if adhesion else None)
    steps = None
    if adhesion:
        dues, answered = payment_dues(year) if adhesion["status"] != "draft" else (None, True)
        steps = next_steps(adhesion, dues, answered)
    return render_template("school/home.html", year=year, adhesion=adhesion, closed=closed, documents=documents,
                           window=window, steps=steps)


@bp.get("/adhesion")
@school_required
def adhesion_current():
    return redirect(url_for("school.adhesion", year=campaign_year()))


@bp.route("/adhesion/<year>", methods=["GET", "POST"])
@school_required
def adhesion(year):
    pages.checked(year=year)
    try:
        saved = client.get(pages.adhesion_path(number(), year))
    except ApiFailure as failure:
        if failure.status != 404:
            raise
        return render_template("school/closed.html", year=year, message=failure.message), 404
    if request.method == "GET":
        kept = carry.take_back(request.path)
        if kept is not None and saved["status"] != "validated":
            flash("Votre session avait expiré : ce que vous aviez saisi est revenu dans le formulaire, rien n'est "
                  "encore enregistré. Vérifiez puis cliquez sur «\u00a0Valider et calculer\u00a0».", "info")
            rows = forms.posted_rows(kept)
            return render_form(year, saved, forms.posted_state(kept, rows), estimate=True)
        return render_form(year, saved)
    if saved["status"] == "validated":
        return render_form(year, saved)
    return save(year, saved)


def save(year: str, saved: dict):
    rows = forms.posted_rows(request.form)
    action = request.form.get("action", "calculate")
    if action == "add_row":
        rows.append(forms.blank_row())
        return render_form(year, saved, forms.posted_state(request.form, rows), focus=len(rows) - 1, estimate=True)
    if action.startswith("delete-"):
        index = action.removeprefix("delete-")
        if index.isdigit() and int(index) < len(rows):
            rows.pop(int(index))
    payload, origin = forms.adhesion_payload(request.form, rows)
    unreadable = forms.count_errors(rows)
    if unreadable:  # nothing goes to the API: an empty or mistyped count is never saved as 0
        problem = "Le tableau n'est pas enregistré : un nombre est vide ou mal écrit."
        return render_form(year, saved, forms.posted_state(request.form, rows), unreadable, problem,
                           estimate=True), 422
    try:
        answer = saved = client.put(pages.adhesion_path(number(), year), json=payload)
        if action == "submit":
            answer = client.post(pages.adhesion_path(number(), year, "submit"))
    except ApiFailure as failure:  # `saved` is what the PUT stored when only the submission failed
        if failure.status not in (400, 409, 422):
            raise
        if failure.status == 409:
            flash(failure.message, "error")
            return redirect(url_for("school.adhesion", year=year))
        errors = forms.adhesion_errors(failure.fields, origin)
        if not errors:
            errors["_form"] = [failure.message]
        return render_form(year, saved, forms.posted_state(request.form, rows), errors, failure.message,
                           estimate=True), 422
    if action == "submit":
        flash(f"Merci ! Votre adhésion est envoyée à l'{short_department(session.get('department'))}. "
              f"Montant à régler : {eur(answer['amounts']['total'])}.", "success")
        return redirect(url_for("school.adhesion", year=year) + "#etat")
    flash(f"Le tableau est enregistré. Montant calculé : {eur(answer['amounts']['total'])}. "
          "Pensez à cliquer sur «\u00a0Mettre à jour les informations\u00a0» pour l'envoyer.", "success")
    return redirect(url_for("school.adhesion", year=year) + "#montant")


def render_form(year: str, saved: dict, state: dict | None = None, errors: dict | None = None,
                problem: str | None = None, focus: int | None = None, estimate: bool = False):
    """The form; with ``estimate`` the amounts block shows what the typed figures come to
    (the API's figures are those of the saved table, which the typed ones may not be)."""
    editable = saved["status"] != "validated"
    if state is None:
        rows = forms.rows_of(saved)
        if editable:
            rows.append(forms.blank_row())
        state = {
            "insurance": saved["insurance"], "payment": saved["payment"], "rows": rows,
            "goods_value": pages.amount_input_or_blank(saved["goods_value"]),
            "instruments_value": pages.amount_input_or_blank(saved["instruments_value"]),
        }
    for row in state["rows"]:
        row["total"] = pages.row_total(row)
    rates = pages.load_rates(year)
    documents = school_documents(year) if saved["status"] == "validated" else None
    ledger_entry = ledger.adhesion_entry(number(), year) if saved["status"] == "validated" else None
    dues, answered = payment_dues(year) if saved["status"] != "draft" else (None, True)
    shown = (pages.estimated(saved, state, number(), year) if estimate else None) or saved
    return render_template(
        "school/adhesion.html", year=year, adhesion=saved, state=state, errors=errors or {}, problem=problem,
        lines=pages.amount_lines(shown, rates), documents=documents, editable=editable,
        steps=next_steps(saved, dues, answered), estimate=estimate and shown is not saved,
        heading=pages.coop_heading(saved["cooperative"]), focus=focus, ledger_entry=ledger_entry,
        summary=forms.error_summary(errors or {}, state["rows"]),
        goods_hint=pages.premium_hint(rates, "goods"), instruments_hint=pages.premium_hint(rates, "instruments"),
        reference=pages.payment_reference_of(saved) if saved["status"] != "draft" else None,
        late_after=pages.late_after(rates) if saved["status"] == "draft" else None,
    )


@bp.post("/adhesion/<year>/montant")
@school_required
def amounts(year):
    """The amounts block for the figures of the posted form, as JSON for the page's script:
    the adhesion service prices them, nothing is saved. The script posts the whole form
    (its CSRF token with it), so the figures are read here exactly as a click on « Valider
    et calculer » reads them."""
    pages.checked(year=year)
    state = forms.posted_state(request.form, forms.posted_rows(request.form))
    try:
        answer = pages.quote(number(), year, state)
    except ApiFailure as failure:
        if failure.status not in (400, 404, 422, 503):
            raise
        return {"message": failure.message}, failure.status
    lines = pages.amount_lines(answer, answer["rates"])
    return {"lines": [{key: line[key] for key in ("key", "detail", "amount")} for line in lines],
            "totals": answer["totals"], "ignored": answer["ignored"]}


def next_steps(adhesion: dict, dues: dict | None, answered: bool) -> dict | None:
    """« Et maintenant ? »: once sent, what the school still has to do, and what is received."""
    contact = {key: (adhesion.get("department") or {}).get(key, "") for key in ("name", "address", "phone", "email")}
    if session.get("department_contact") != contact:
        session["department_contact"] = contact  # for the footer of every page
    reversed_after_validation = adhesion["status"] == "validated" and (
        (dues or {}).get("status") in ("unpaid", "partial") or not adhesion["checklist"]["payment_received"])
    if adhesion["status"] not in ("submitted", "correction_requested") and not reversed_after_validation:
        return None
    mandate = None
    if adhesion["payment"].get("direct_debit"):  # « prélèvement » chosen: the mandate to sign
        mandate = client.get_or_none("/api/payment/sepa/mandate", also=(503,))
    return pages.next_steps(adhesion, dues, answered, mandate)


def payment_dues(year: str) -> tuple[dict | None, bool]:
    """The payment service's view of what is owed and received (it owns the payment status),
    and whether it answered: its dues are None until the submission reaches it (a 404), or
    while it cannot be reached (a 503, the page then says less)."""
    try:
        return client.get_or_none(f"/api/payment/dues/{number()}/{year}"), True
    except ApiFailure as failure:
        if failure.status != 503:
            raise
        return None, False


@bp.get("/adhesion/<year>/engagement-mandataire.pdf")
@school_required
def engagement_pdf(year):
    """The engagement du mandataire, pre-filled, to print, date, sign and send."""
    pages.checked(year=year)
    adhesion = client.get(pages.adhesion_path(number(), year))
    pdf = engagement.render(adhesion)
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{engagement.filename(number(), year)}"')
    response.headers["Cache-Control"] = "private, no-store"
    return response


MANDATE_FIELDS = ("debtor_name", "iban", "bic", "street", "postcode", "town")


@bp.route("/prelevement/mandat", methods=["GET", "POST"])
@school_required
def mandate_form():
    """The SEPA mandate, pre-filled by the school: the system makes its RUM and the PDF to
    print, sign and send to the OCCE (staff then record the signature)."""
    cooperative = client.get(f"/api/adhesion/cooperatives/{number()}")
    form = {key: request.form.get(key, "").strip() for key in MANDATE_FIELDS} if request.method == "POST" else {
        "debtor_name": cooperative["name"][:70], "iban": "", "bic": "", "street": "", "postcode": "",
        "town": cooperative["town"]}
    errors, problem = {}, None
    if request.method == "POST":
        body = {"cooperative": number(), "debtor_name": form["debtor_name"], "iban": form["iban"],
                "bic": form["bic"], "address": {key: form[key] for key in ("street", "postcode", "town")}}
        try:
            mandate = client.post("/api/payment/mandates", json=body)
        except ApiFailure as failure:
            if failure.status not in (400, 409, 422):
                raise
            errors, problem = forms.simple_errors(failure.fields), failure.message
            errors.update(forms.simple_errors((failure.fields or {}).get("address") or {}))
        else:
            flash(f"Mandat n° {mandate['rum']} prêt : imprimez-le, signez-le et envoyez-le à "
                  f"l'{short_department(session.get('department'))}.", "success")
            return redirect(url_for("school.home") + "#et-maintenant")
    return render_template("school/mandate.html", form=form, errors=errors, problem=problem,
                           cooperative=cooperative), 422 if errors or problem else 200


@bp.get("/prelevement/mandat/<rum>.pdf")
@school_required
def mandate_pdf(rum):
    upstream = client.get(f"/api/payment/mandates/{rum}.pdf", raw=True)
    response = Response(upstream.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="mandat-{rum}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/documents/<year>/<kind>.pdf")
@school_required
def document(year, kind):
    pages.checked(year=year)
    return pages.pdf_response(number(), year, kind)


def school_documents(year: str) -> list[dict]:
    return pages.documents_of(number(), year, lambda kind: url_for("school.document", year=year, kind=kind))
