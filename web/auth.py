"""S'identifier, se déconnecter, and the front door that sends each user to their pages."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from web import client
from web.client import ApiFailure
from web.security import signed_in

bp = Blueprint("auth", __name__)


@bp.get("/")
def index():
    if not signed_in():
        return redirect(url_for("auth.login"))
    if session.get("role") == "staff":
        return redirect(url_for("staff.adhesions"))
    return redirect(url_for("school.home"))


@bp.route("/connexion", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        if signed_in():
            return redirect(url_for("auth.index"))
        return render_template("login.html", login="")
    name = request.form.get("login", "").strip()
    password = request.form.get("password", "")
    errors = {}
    if not name:
        errors["login"] = ["Saisissez votre identifiant."]
    if not password:
        errors["password"] = ["Saisissez votre mot de passe."]
    if errors:
        return render_template("login.html", login=name, errors=errors), 422
    try:
        answer = client.post("/api/auth/login", json={"login": name, "password": password}, token="")
    except ApiFailure as failure:
        if failure.status >= 500:
            raise
        message = failure.message if failure.status in (401, 429) else "Identifiant ou mot de passe incorrect."
        return render_template("login.html", login=name, failure=message), failure.status
    session.clear()  # a new session (and a new CSRF token) on sign-in
    session.permanent = True
    session.update(
        token=answer["token"], role=answer["role"], login=name,
        cooperative=answer.get("cooperative"), department=answer.get("department"),
    )
    return redirect(url_for("auth.index"))


@bp.post("/deconnexion")
def logout():
    session.clear()
    flash("Vous êtes déconnecté(e). À bientôt !", "info")
    return redirect(url_for("auth.login"))
