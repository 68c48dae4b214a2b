"""A form posted after the session expired is kept, not lost: it waits in the new session
while the teacher signs in again, then comes back into the form it was typed in, filled
but not saved (the teacher checks it and sends it again).

Only a form from the browser that had the session is kept: at sign-in a school's browser
gets a ticket (cookie ``retkoop_form``, signed, outliving the session) naming the school
and bound to the session's CSRF token. With the session cookie gone, a post is kept only
when it carries that token and the browser still has the ticket; anything else (a page
of another site posting blind: ``SameSite=Lax`` keeps both cookies from it) is refused
without touching the session, so no one can sign a school out or pre-fill its form."""
import hashlib
import hmac
import re
from datetime import timedelta

from flask import current_app, flash, redirect, request, session, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.datastructures import MultiDict

KEY = "carried_form"
# the forms worth carrying: the adhesion table a teacher may spend a while on
CARRIED = re.compile(r"/adhesion/\d{4}-\d{4}")
SKIPPED = {"csrf_token", "action"}
MAX_CHARS = 20_000  # the session cookie must stay under the browser's 4 KB once compressed
TICKET_COOKIE = "retkoop_form"
TICKET_PATH = "/adhesion/"  # sent with the carried forms only
# a form left open over a long weekend still comes back; the session itself lasts 12 hours
TICKET_AGE = timedelta(days=7)


def carries(path: str) -> bool:
    return request.method == "POST" and bool(CARRIED.fullmatch(path))


def _tickets() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="retkoop-kept-form")


def _bound(csrf: str) -> str:
    return hashlib.sha256(b"retkoop-kept-form\0" + csrf.encode()).hexdigest()[:32]


def give_ticket(response, cooperative: str, csrf: str) -> None:
    """At a school's sign-in: the proof its later forms come from this browser."""
    response.set_cookie(
        TICKET_COOKIE, _tickets().dumps({"c": cooperative, "t": _bound(csrf)}), path=TICKET_PATH,
        max_age=int(TICKET_AGE.total_seconds()), httponly=True, samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )


def take_ticket(response) -> None:
    """At logout: nothing of this session is kept any more."""
    response.delete_cookie(TICKET_COOKIE, path=TICKET_PATH)


def ticket_owner(sent_csrf: str) -> str | None:
    """The school whose session made the CSRF token this form carries, if this browser
    holds that session's ticket; None otherwise."""
    try:
        data = _tickets().loads(request.cookies.get(TICKET_COOKIE, "")[:1000],
                                max_age=int(TICKET_AGE.total_seconds()))
    except BadSignature:
        return None
    if not (isinstance(data, dict) and isinstance(data.get("c"), str) and isinstance(data.get("t"), str)):
        return None
    if not sent_csrf or not hmac.compare_digest(data["t"], _bound(sent_csrf)):
        return None
    return data["c"] or None


def keep_and_sign_in(cooperative: str | None = None):
    """Clear the expired session, keep the posted fields in the new one, go to the login
    page. Whose form it is: the session's school, or the one the browser's ticket names
    (``ticket_owner``) when the session cookie is gone."""
    cooperative = cooperative or session.get("cooperative")
    fields = [(key, value) for key, value in request.form.items(multi=True) if key not in SKIPPED and value]
    session.clear()
    if cooperative and sum(len(key) + len(value) for key, value in fields) <= MAX_CHARS:
        session[KEY] = {"path": request.path, "cooperative": cooperative, "fields": fields}
        flash("Votre session a expiré : identifiez-vous à nouveau. Ce que vous avez saisi est gardé "
              "et reviendra dans le formulaire.", "info")
    else:
        flash("Votre session a expiré : identifiez-vous à nouveau.", "info")
    return redirect(url_for("auth.login"))


def waiting() -> dict | None:
    """The kept form, to carry over the sign-in (``session.clear()`` would drop it)."""
    return session.get(KEY)


def destination(kept: dict | None, answer: dict) -> str | None:
    """Where the sign-in leads: back to the kept form, if it is this school's."""
    if not kept or answer.get("role") != "school":
        return None
    if not kept.get("cooperative") or kept["cooperative"] != answer.get("cooperative"):
        return None  # another school signs in on this browser: it never sees what was typed
    return kept["path"]


def take_back(path: str) -> MultiDict | None:
    """The kept fields of the form at ``path`` (once), or None."""
    kept = session.get(KEY)
    if not kept or kept.get("path") != path:
        return None
    session.pop(KEY)
    return MultiDict(kept["fields"])
