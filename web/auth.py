"""S'identifier, se déconnecter, changer son mot de passe, and the front door that sends
each user to their pages."""
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for

from web import carry, client
from web.client import ApiFailure
from web.security import csrf_token, seal, signed_in

bp = Blueprint("auth", __name__)

# The browser's proof that it logged in before: never throttled with the right password
# (docs/http.md#5-the-login-throttle). It holds the API's signed device tokens, newest
# first, a few logins at most (a family or a staff room may share a computer).
DEVICE_COOKIE = "retkoop_device"
DEVICE_COOKIE_AGE = 400 * 24 * 3600
DEVICES_KEPT = 5


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
        return render_template("login.html", login=request.args.get("identifiant", "")[:100])
    name = request.form.get("login", "").strip()
    password = request.form.get("password", "")
    errors = {}
    if not name:
        errors["login"] = ["Saisissez votre identifiant."]
    if not password:
        errors["password"] = ["Saisissez votre mot de passe."]
    if errors:
        return render_template("login.html", login=name, errors=errors), 422
    devices = request.cookies.get(DEVICE_COOKIE, "")[:2000]
    try:
        answer = client.post("/api/auth/login", json={"login": name, "password": password, "device": devices}, token="")
    except ApiFailure as failure:
        if failure.status >= 500:
            raise
        message = failure.message if failure.status in (401, 429) else "Identifiant ou mot de passe incorrect."
        return render_template("login.html", login=name, failure=message), failure.status
    carried = carry.waiting()
    back = carry.destination(carried, answer)
    session.clear()  # a new session (and a new CSRF token) on sign-in
    session.permanent = True
    if back:
        session[carry.KEY] = carried
    session.update(
        token=seal(answer["token"]), role=answer["role"], login=name,
        cooperative=answer.get("cooperative"), department=answer.get("department"),
        national=bool(answer.get("national")),
    )
    try:  # the association's own name on every page (its row, not a table in the code)
        session["department_name"] = client.get(f"/api/adhesion/departments/{answer['department']}",
                                                token=answer["token"])["name"]
    except ApiFailure:
        pass
    response = redirect(back or url_for("auth.index"))
    if answer.get("cooperative"):  # a school's form outlives its session on this browser only
        carry.give_ticket(response, answer["cooperative"], csrf_token())
    keep_device(response, answer.get("device"), devices)
    return response


def keep_device(response, device: str | None, devices: str) -> None:
    """The browser's device tokens, the newest first."""
    if not device:
        return
    kept = [device] + devices.split()[: DEVICES_KEPT - 1]
    response.set_cookie(
        DEVICE_COOKIE, " ".join(kept), max_age=DEVICE_COOKIE_AGE, httponly=True, samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


@bp.post("/deconnexion")
def logout():
    if signed_in():
        try:
            client.post("/api/auth/logout")  # the token dies with the page session
        except ApiFailure as failure:
            if failure.status not in (401, 403):  # already dead is fine; anything else is said
                current_app.logger.warning("logout: the API answered %s", failure.status)
    session.clear()
    flash("Vous êtes déconnecté(e). À bientôt !", "info")
    response = redirect(url_for("auth.login"))
    carry.take_ticket(response)
    return response


@bp.route("/mot-de-passe", methods=["GET", "POST"])
def password():
    if not signed_in():
        flash("Identifiez-vous pour continuer.", "info")
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return render_template("password.html", errors={})
    current, new, again = (request.form.get(key, "") for key in ("current", "new", "again"))
    errors = _new_password_problems(new, again, "new")
    if not current:
        errors["current"] = ["Saisissez votre mot de passe actuel."]
    if errors:
        return render_template("password.html", errors=errors), 422
    try:
        answer = client.post("/api/auth/password", json={"current": current, "new": new})
    except ApiFailure as failure:
        if failure.status in (401,) or failure.status >= 500:
            raise
        return render_template("password.html", errors=failure.fields, failure=failure.message), failure.status
    flash("Votre mot de passe est changé. Vos autres sessions (autres appareils) sont fermées.", "success")
    response = redirect(url_for("auth.index"))
    # the old password's device tokens are dead: this browser gets the new one's
    keep_device(response, answer.get("device"), request.cookies.get(DEVICE_COOKIE, "")[:2000])
    return response


@bp.route("/mot-de-passe/nouveau/<token>", methods=["GET", "POST"])
def reset(token):
    """The page of the emailed single-use link: choose a new password."""
    if request.method == "GET":
        return render_template("password_reset.html", errors={}, token=token)
    new, again = request.form.get("password", ""), request.form.get("again", "")
    errors = _new_password_problems(new, again, "password")
    if errors:
        return render_template("password_reset.html", errors=errors, token=token), 422
    try:
        client.post("/api/auth/password-reset/confirm", json={"token": token, "password": new}, token="")
    except ApiFailure as failure:
        if failure.status >= 500:
            raise
        return render_template("password_reset.html", errors=failure.fields, failure=failure.message,
                               token=token), failure.status
    session.clear()
    flash("Votre nouveau mot de passe est enregistré : identifiez-vous avec lui.", "success")
    return redirect(url_for("auth.login"))


def _new_password_problems(new: str, again: str, name: str) -> dict:
    if len(new) < 8:
        return {name: ["Au moins 8 caractères."]}
    if len(new) > 200:
        return {name: ["Au plus 200 caractères."]}
    if new != again:
        return {"again": ["Les deux saisies ne sont pas identiques."]}
    return {}
