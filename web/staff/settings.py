"""« Département »: the association's details (name, insurer, contract, sender, address,
phone, mailbox, payee, IBAN, BIC), its staff, and for the national administrator the
other departments."""
from flask import flash, redirect, render_template, request, session, url_for

from web import client, forms
from web.client import ApiFailure
from web.security import seal, staff_required
from web.staff import bp

SETTINGS = (
    ("name", "Nom de l'association", "200"), ("sender_name", "Nom d'expéditeur des e-mails", "200"),
    ("insurer", "Assureur", "200"), ("contract", "Numéro de contrat d'assurance", "100"),
    ("address", "Adresse postale", "500"), ("phone", "Téléphone", "50"), ("email", "Adresse e-mail", "254"),
    ("payee", "Ordre des chèques", "200"), ("iban", "IBAN", "42"), ("bic", "BIC", "11"),
)
NEW_DEPARTMENT = (("number", "Numéro du département", "3"), ("name", "Nom de l'association", "200"),
                  ("insurer", "Assureur", "200"), ("contract", "Numéro de contrat", "100"))
NEW_STAFF = (("login", "Identifiant", "100"), ("email", "Adresse e-mail", "254"), ("password", "Mot de passe", "200"))


def _page(status=200, **extra):
    code = session.get("department")
    department = client.get(f"/api/adhesion/departments/{code}")
    departments = client.get("/api/adhesion/departments")["items"]
    staff = client.get("/api/adhesion/staff")["items"]
    values = extra.pop("values", None) or department
    return render_template("staff/settings.html", department=department, departments=departments, staff=staff,
                           values=values, settings=SETTINGS, new_department=NEW_DEPARTMENT, new_staff=NEW_STAFF,
                           national=session.get("national", False), **{"errors": {}, "forms": {}, **extra}), status


@bp.get("/departement")
@staff_required
def settings():
    return _page()


@bp.post("/departement")
@staff_required
def save_settings():
    payload = {name: request.form.get(name, "").strip() for name, _, _ in SETTINGS}
    try:
        client.put(f"/api/adhesion/departments/{session.get('department')}", json=payload)
    except ApiFailure as failure:
        if failure.status not in (400, 422):
            raise
        return _page(422, values=payload, errors=forms.simple_errors(failure.fields), problem=failure.message)
    flash("Les informations du département sont enregistrées.", "success")
    return redirect(url_for("staff.settings"))


@bp.post("/departement/personnel")
@staff_required
def add_staff():
    payload = {name: request.form.get(name, "").strip() for name, _, _ in NEW_STAFF}
    payload["department"] = request.form.get("department", session.get("department", "")).strip()
    return _create("/api/adhesion/staff", payload, "staff", f"Compte « {payload['login']} » créé.")


@bp.post("/departement/nouveau")
@staff_required
def add_department():
    payload = {name: request.form.get(name, "").strip() for name, _, _ in NEW_DEPARTMENT}
    return _create("/api/adhesion/departments", payload, "department", f"Département {payload['number']} créé.")


def _create(path: str, payload: dict, form: str, done: str):
    try:
        client.post(path, json=payload)
    except ApiFailure as failure:
        if failure.status not in (400, 403, 409, 422):
            raise
        payload.pop("password", None)
        return _page(failure.status, forms={form: payload},
                     errors={f"{form}_{k}": v for k, v in forms.simple_errors(failure.fields).items()},
                     problem=failure.message)
    flash(done, "success")
    return redirect(url_for("staff.settings"))


@bp.app_template_filter("form_errors")
def form_errors(errors: dict, prefix: str) -> dict:
    """The errors of one form of the page (kept under ``prefix…``), keyed by field name."""
    return {key.removeprefix(prefix): value for key, value in errors.items() if key.startswith(prefix)}


@bp.post("/departement/changer")
@staff_required
def switch_department():
    """The national administrator works in another department (the API checks who may)."""
    code = request.form.get("department", "").strip()
    try:
        answer = client.post("/api/auth/department", json={"department": code})
    except ApiFailure as failure:
        if failure.status not in (400, 403, 404, 422):
            raise
        flash(failure.message, "error")
        return redirect(url_for("staff.settings"))
    session.update(token=seal(answer["token"]), department=answer["department"])
    try:
        session["department_name"] = client.get(f"/api/adhesion/departments/{answer['department']}")["name"]
    except ApiFailure:
        session.pop("department_name", None)
    session.pop("department_contact", None)
    flash(f"Vous travaillez maintenant dans le département {answer['department']}.", "success")
    return redirect(url_for("staff.settings"))
