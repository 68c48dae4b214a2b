"""Who may see a page, CSRF tokens on every form, and the headers of every answer."""
import base64
import hashlib
import hmac
import secrets
from functools import wraps

from cryptography.fernet import Fernet, InvalidToken
from flask import abort, current_app, flash, redirect, request, session, url_for

from web import carry

CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def csrf_token() -> str:
    """The session's CSRF token, made on first use; every form carries it in a hidden input."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def check_csrf() -> None:
    """Refuse (400) a POST whose token is missing or is not the session's."""
    if request.method in SAFE_METHODS:
        return
    sent = request.form.get(CSRF_FIELD, "")
    expected = session.get("csrf", "")
    if sent and not expected and not signed_in() and carry.carries(request.path):
        # the session cookie expired under a form being filled: keep what was typed, sign
        # in again -- only if this browser's ticket vouches for the form's token (a page
        # of another site posting here gets the 400 and the session is left alone)
        owner = carry.ticket_owner(sent)
        if owner:
            return carry.keep_and_sign_in(owner)
    if not sent or not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="csrf")


def _fernet() -> Fernet:
    key = hashlib.sha256(b"retkoop-web-session\0" + current_app.config["SECRET_KEY"].encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(token: str) -> str:
    """The API token as the session cookie keeps it: encrypted, since Flask's cookie is only
    signed and anyone holding it could read (and replay) what it carries."""
    return _fernet().encrypt(token.encode()).decode()


def session_token() -> str | None:
    """The signed-in user's API token, or None (no session, or a cookie made with another key)."""
    sealed = session.get("token")
    if not sealed:
        return None
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except (InvalidToken, ValueError):
        return None


def signed_in() -> bool:
    return bool(session.get("token"))


def _requires(role: str):
    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not signed_in():
                flash("Identifiez-vous pour continuer.", "info")
                return redirect(url_for("auth.login"))
            if session.get("role") != role:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


school_required = _requires("school")
staff_required = _requires("staff")


def security_headers(response):
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"  # no page of a signed-in user kept in a cache
    return response
