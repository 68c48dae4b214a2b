"""One adhesion for staff: the guide's checklist, payments, correction, validation."""
from datetime import date

from flask import flash, redirect, render_template, request, url_for

from web import client, forms, pages
from web.client import ApiFailure
from web.formatting import CHANGE_FORM_LABELS, METHOD_LABELS, amount_input, decimal, eur
from web.security import staff_required
from web.staff import bp, department_short
from web.staff.journal import ACTION_LABELS

UNMET_LABELS = {
    "status": "l'adhésion n'est pas dans l'état «\u00a0saisie\u00a0» (envoyée par l'école)",
    "payment": "le paiement reçu ne couvre pas le montant dû",
    "engagement": "l'engagement du mandataire daté et signé n'est pas coché",
    "change_form": "le formulaire de changement de mandataire est attendu",
}


def detail(number: str, year: str, status: int = 200, **extra):
    adhesion = client.get(pages.adhesion_path(number, year))
    rates = pages.load_rates(year)
    dues = client.get_or_none(f"/api/payment/dues/{number}/{year}")
    payments = client.get("/api/payment/payments", params={"cooperative": number, "year": year})["items"]
    documents = pages.documents_of(
        number, year, lambda kind: url_for("staff.document", number=number, year=year, kind=kind)
    ) if adhesion["status"] == "validated" else None
    declared = adhesion["payment"]
    default_method = "cheque" if declared["cheque"] else "transfer" if declared["transfer"] else \
        "other" if declared["other"] else "cheque"
    balance = dues["balance"] if dues else adhesion["amounts"]["total"]
    payment_form = extra.pop("payment_form", None) or {
        "amount": forms_amount(balance), "method": default_method, "reference": "",
        "received_on": date.today().isoformat(),
    }
    context = dict(
        year=year, adhesion=adhesion, rates=rates, dues=dues, payments=payments, documents=documents,
        lines=pages.amount_lines(adhesion, rates), heading=pages.coop_heading(adhesion["cooperative"]),
        payment_form=payment_form, methods=METHOD_LABELS, change_forms=CHANGE_FORM_LABELS,
        department=department_short(), errors={}, unmet=[], history=history_of(number, year),
        history_labels=ACTION_LABELS,
    )
    context.update(extra)
    return render_template("staff/adhesion.html", **context), status


# What the adhesion page's « Historique » shows: who recorded, reversed, validated, and when.
HISTORY_ACTIONS = ("payment.recorded", "payment.reversed", "adhesion.submitted", "adhesion.correction_requested",
                   "adhesion.validated", "adhesion.reopened", "documents.reissued")


def history_of(number: str, year: str) -> list[dict]:
    """The audit log's records about this cooperative and year (newest first); empty when
    the log cannot be read now: the page stays usable."""
    try:
        page = client.get("/api/audit/events", params={"target": number, "limit": 200})
    except ApiFailure:
        return []
    return [item for item in page["items"]
            if item["action"] in HISTORY_ACTIONS and item["details"].get("year") in (year, None)]


def forms_amount(value) -> str:
    """What is still owed, ready in the payment form (``439,25``); nothing when all is paid."""
    number = decimal(value)
    return amount_input(number) if number is not None and number > 0 else ""


def back(number: str, year: str, anchor: str = ""):
    return redirect(url_for("staff.adhesion", number=number, year=year) + (f"#{anchor}" if anchor else ""))


@bp.get("/adhesions/<number>/<year>")
@staff_required
def adhesion(number, year):
    pages.checked(number, year)
    return detail(number, year)


@bp.post("/adhesions/<number>/<year>/paiement")
@staff_required
def record_payment(number, year):
    pages.checked(number, year)
    form = {name: request.form.get(name, "").strip() for name in ("amount", "method", "reference", "received_on")}
    payload = {
        "cooperative": number, "year": year, "amount": forms.money_value(form["amount"]) if form["amount"] else "",
        "method": form["method"], "reference": form["reference"], "received_on": form["received_on"] or None,
    }
    try:
        recorded = client.post("/api/payment/payments", json=payload)
    except ApiFailure as failure:
        if failure.status not in (400, 409, 422):
            raise
        errors = {f"payment_{k}": v for k, v in forms.simple_errors(failure.fields).items()}
        return detail(number, year, 422, payment_form=form, errors=errors,
                      payment_problem=failure.message, anchor="paiement")
    dues = recorded["dues"]
    flash(f"Paiement de {eur(recorded['payment']['amount'])} enregistré "
          f"({METHOD_LABELS.get(recorded['payment']['method'], recorded['payment']['method'])}). "
          f"Reçu au total : {eur(dues['amount_paid'])} sur {eur(dues['amount_due'])}.", "success")
    return back(number, year, "controle")


def checklist_payload() -> dict:
    payload = {"engagement_signed": request.form.get("engagement_signed") == "oui"}
    if request.form.get("change_form") in CHANGE_FORM_LABELS:
        payload["change_form"] = request.form["change_form"]
    return payload


@bp.post("/adhesions/<number>/<year>/controle")
@staff_required
def checklist(number, year):
    pages.checked(number, year)
    try:
        client.patch(pages.adhesion_path(number, year, "checklist"), json=checklist_payload())
    except ApiFailure as failure:
        if failure.status not in (400, 404, 409, 422):
            raise
        flash(failure.message, "error")
        return back(number, year, "controle")
    flash("Liste de contrôle enregistrée.", "success")
    return back(number, year, "controle")


@bp.post("/adhesions/<number>/<year>/correction")
@staff_required
def request_correction(number, year):
    pages.checked(number, year)
    message = request.form.get("message", "").strip()
    if not message:
        return detail(number, year, 422, errors={"message": ["Écrivez ce que l'école doit corriger."]},
                      correction_message=message)
    try:
        client.post(pages.adhesion_path(number, year, "request-correction"), json={"message": message})
    except ApiFailure as failure:
        if failure.status not in (400, 404, 409, 422):
            raise
        errors = forms.simple_errors(failure.fields)
        errors.setdefault("message", [failure.message])
        return detail(number, year, failure.status, errors=errors, correction_message=message)
    flash("La demande de correction est envoyée à l'école (par e-mail et sur sa page d'accueil).", "success")
    return back(number, year)


@bp.post("/adhesions/<number>/<year>/validation")
@staff_required
def validate(number, year):
    pages.checked(number, year)
    code = request.form.get("registration_code", "").strip()
    if request.form.get("checklist") == "oui":  # the ticks on the page, saved first: never lost
        try:
            client.patch(pages.adhesion_path(number, year, "checklist"), json=checklist_payload())
        except ApiFailure as failure:
            if failure.status not in (400, 404, 409, 422):
                raise
    try:
        answer = client.post(pages.adhesion_path(number, year, "validate"),
                             json={"registration_code": code} if code else {})
    except ApiFailure as failure:
        if failure.status not in (400, 404, 409, 422):
            raise
        unmet = [UNMET_LABELS.get(item, item) for item in failure.body.get("unmet", [])]
        errors = forms.simple_errors(failure.fields)
        return detail(number, year, failure.status, unmet=unmet, validation_problem=failure.message,
                      errors=errors, registration_code=code)
    flash(f"Adhésion validée. Code d'enregistrement : {answer['registration_code']}. L'attestation et le "
          "certificat sont préparés puis envoyés à l'école par e-mail.", "success")
    return back(number, year)


@bp.post("/adhesions/<number>/<year>/reouverture")
@staff_required
def reopen(number, year):
    pages.checked(number, year)
    try:
        client.post(pages.adhesion_path(number, year, "reopen"))
    except ApiFailure as failure:
        if failure.status not in (404, 409):
            raise
        flash(failure.message, "error")
        return back(number, year)
    flash("L'adhésion est rouverte : l'école peut la modifier ; le code d'enregistrement est conservé.", "success")
    return back(number, year)


@bp.get("/adhesions/<number>/<year>/documents/<kind>.pdf")
@staff_required
def document(number, year, kind):
    pages.checked(number, year)
    return pages.pdf_response(number, year, kind)


@bp.app_template_filter("payment_errors")
def payment_errors(errors: dict) -> dict:
    """The payment form's errors (kept under ``payment_…`` beside the page's others)."""
    return {key.removeprefix("payment_"): value for key, value in errors.items() if key.startswith("payment_")}
