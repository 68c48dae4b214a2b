"""A form posted after the session expired is kept, not lost: it waits in the new session
while the teacher signs in again, then comes back into the form it was typed in, filled
but not saved (the teacher checks it and sends it again)."""
import re

from flask import flash, redirect, request, session, url_for
from werkzeug.datastructures import MultiDict

KEY = "carried_form"
# the forms worth carrying: the adhesion table a teacher may spend a while on
CARRIED = re.compile(r"/adhesion/\d{4}-\d{4}")
SKIPPED = {"csrf_token", "action"}
MAX_CHARS = 20_000  # the session cookie must stay under the browser's 4 KB once compressed


def carries(path: str) -> bool:
    return request.method == "POST" and bool(CARRIED.fullmatch(path))


def keep_and_sign_in():
    """Clear the expired session, keep the posted fields in the new one, go to the login page."""
    # whose form it is: the session's school, or the one the form names (the cookie may be gone)
    cooperative = session.get("cooperative") or request.form.get("owner", "")
    fields = [(key, value) for key, value in request.form.items(multi=True) if key not in SKIPPED and value]
    session.clear()
    if sum(len(key) + len(value) for key, value in fields) <= MAX_CHARS:
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
