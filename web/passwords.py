"""« Identifiant ou mot de passe perdus » (asking for a reset link) and the invitation
link of a new cooperative (its first password)."""
from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from web import client
from web.client import ApiFailure

bp = Blueprint("passwords", __name__)

SENT = ("Si cet identifiant existe, un lien pour choisir un nouveau mot de passe vient d'être envoyé "
        "à son adresse e-mail. Il est valable une heure et ne sert qu'une fois.")


@bp.route("/mot-de-passe/perdu", methods=["GET", "POST"])
def lost():
    if request.method == "GET":
        return render_template("passwords/lost.html", login="", errors={})
    name = request.form.get("login", "").strip()
    if not name:
        return render_template("passwords/lost.html", login=name,
                               errors={"login": ["Saisissez votre identifiant."]}), 422
    try:
        client.post("/api/auth/password-reset", json={"login": name[:100]}, token="")
    except ApiFailure as failure:
        if failure.status >= 500:
            raise
        return render_template("passwords/lost.html", login=name, errors={}, failure=failure.message), failure.status
    flash(SENT, "success")
    return redirect(url_for("auth.login"))


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token):
    return _choose(token, invitation=True)


def _choose(token: str, invitation: bool):
    """(The reset link's page is web/auth.py's; this one greets a new cooperative.)"""
    page = "passwords/choose.html"
    if request.method == "GET":
        return render_template(page, token=token, invitation=invitation, errors={})
    new, again = request.form.get("password", ""), request.form.get("again", "")
    errors = {}
    if not 8 <= len(new) <= 200:
        errors["password"] = ["Entre 8 et 200 caractères."]
    elif new != again:
        errors["again"] = ["Les deux mots de passe ne sont pas identiques."]
    if errors:
        return render_template(page, token=token, invitation=invitation, errors=errors), 422
    try:
        answer = client.post("/api/auth/password-reset/confirm", json={"token": token[:200], "password": new},
                             token="")
    except ApiFailure as failure:
        if failure.status >= 500:
            raise
        return render_template(page, token=token, invitation=invitation, errors={},
                               failure=failure.message), failure.status
    session.clear()
    flash("Votre mot de passe est enregistré : connectez-vous avec votre identifiant et ce mot de passe.", "success")
    return redirect(url_for("auth.login", identifiant=answer.get("login", "")))
