"""Signed, expiring, revocable bearer tokens and password hashing shared by every service.

Tokens are verified locally by each service (no call to the service that issued them):
they carry the role, the cooperative of a school, the department and a session id that must
still be open in the platform's session store (shared/sessions.py) — logout and a
password change close it.
"""
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps

from flask import current_app, g, request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from shared.errors import ApiError, Forbidden

TOKEN_MAX_AGE = 12 * 3600
# A service credential is made for each call: a short life bounds a leaked one.
SERVICE_TOKEN_MAX_AGE = 300
SERVICE = "service"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


@dataclass(frozen=True)
class Principal:
    login: str
    role: str  # "school" | "staff"
    department: str
    cooperative: str | None = None
    session: str | None = None  # the server-side session the token belongs to
    national: bool = False  # the national administrator: every department (audit log, erasure)

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        _, salt, digest = stored.split("$")
        salt, expected = base64.b64decode(salt), base64.b64decode(digest)
    except (ValueError, TypeError):
        # no password yet (an invitation not taken up): the cost of a real check, or the
        # answer's time would tell pending invitations apart
        burn_password_time(password)
        return False
    actual = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return hmac.compare_digest(actual, expected)


def burn_password_time(password: str) -> None:
    """Same cost as a real check, so an unknown login is not told apart by timing."""
    hashlib.scrypt(password.encode(), salt=b"0" * 16, dklen=32, **_SCRYPT)


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="retkoop-auth")


def issue_token(secret_key: str, principal: Principal) -> str:
    return _serializer(secret_key).dumps(
        {"l": principal.login, "r": principal.role, "d": principal.department, "c": principal.cooperative,
         "s": principal.session, "n": principal.national}
    )


def open_session(store, principal: Principal) -> tuple[str, Principal]:
    """A token for ``principal`` bound to a new server-side session: ``(token, principal)``."""
    session_id = store.open(principal.login, timedelta(seconds=TOKEN_MAX_AGE))
    principal = Principal(principal.login, principal.role, principal.department, principal.cooperative, session_id,
                          principal.national)
    return issue_token(current_app.config["SECRET_KEY"], principal), principal


def session_store():
    """This app's handle on the platform session store (made by create_service_app)."""
    return current_app.extensions["auth_sessions"]


def read_token(secret_key: str, token: str) -> Principal:
    try:
        data = _serializer(secret_key).loads(token, max_age=TOKEN_MAX_AGE)
    except SignatureExpired:
        raise ApiError(401, "Session expirée : reconnectez-vous.")
    except BadSignature:
        raise ApiError(401, "Jeton d'authentification invalide.")
    return Principal(login=data["l"], role=data["r"], department=data["d"], cooperative=data["c"],
                     session=data.get("s"), national=bool(data.get("n")))


def _service_serializer(secret_key: str) -> URLSafeTimedSerializer:
    # Its own salt: a service credential is never accepted as a user's token, nor the reverse.
    return URLSafeTimedSerializer(secret_key, salt="retkoop-service")


def issue_service_token(secret_key: str, service_name: str) -> str:
    """The credential one service shows another's API (e.g. notify fetching a PDF)."""
    return _service_serializer(secret_key).dumps({"l": service_name, "r": SERVICE})


def service_required(view):
    """Only another service of this install (a service credential signed with SECRET_KEY):
    a school's or staff member's token is refused with 403, anything else with 401."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise ApiError(401, "Authentification requise.")
        secret_key = current_app.config["SECRET_KEY"]
        try:
            data = _service_serializer(secret_key).loads(token, max_age=SERVICE_TOKEN_MAX_AGE)
        except SignatureExpired:
            raise ApiError(401, "Jeton de service expiré.")
        except BadSignature:
            read_token(secret_key, token)  # 401 unless it is a user's valid token
            raise ApiError(403, "Réservé aux services internes.")
        if data.get("r") != SERVICE:
            raise ApiError(403, "Réservé aux services internes.")
        g.principal = Principal(login=data["l"], role=SERVICE, department="")
        return view(*args, **kwargs)

    return wrapper


CLIENT_ADDRESS_HEADER = "X-Retkoop-Client-Address"


def signed_client_address(secret_key: str, address: str) -> str:
    """What the web pages send with each API call: the browser's address, signed, so the
    login throttle counts the person and not the web server (a client cannot forge it)."""
    return URLSafeTimedSerializer(secret_key, salt="retkoop-client-address").dumps(address)


def client_address(secret_key: str) -> str:
    """The caller's address: the one the web pages vouch for, else the connection's."""
    signed = request.headers.get(CLIENT_ADDRESS_HEADER)
    if signed:
        try:
            return URLSafeTimedSerializer(secret_key, salt="retkoop-client-address").loads(signed, max_age=300)
        except BadSignature:
            pass
    return request.remote_addr or "unknown"


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Authentification requise.")
        principal = read_token(current_app.config["SECRET_KEY"], token.strip())
        if not principal.session or not session_store().is_open(principal.session, principal.login):
            raise ApiError(401, "Session terminée : reconnectez-vous.")
        g.principal = principal
    return principal


def login_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        current_principal()
        return view(*args, **kwargs)

    return wrapper


def staff_required(view):
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_principal().is_staff:
            raise ApiError(403, "Réservé au personnel de l'OCCE.")
        return view(*args, **kwargs)

    return wrapper


def staff_or_service_required(view):
    """Staff (their department, the use case checks it) or another service of this install
    (the national admin's « État du système », through the adhesion service)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        _, _, token = request.headers.get("Authorization", "").partition(" ")
        try:
            data = _service_serializer(current_app.config["SECRET_KEY"]).loads(
                token.strip(), max_age=SERVICE_TOKEN_MAX_AGE)
        except BadSignature:  # not a service credential (or expired): a person's token, then
            data = None
        if data and data.get("r") == SERVICE:
            g.principal = Principal(login=data["l"], role=SERVICE, department="")
        elif not current_principal().is_staff:
            raise ApiError(403, "Réservé au personnel de l'OCCE.")
        return view(*args, **kwargs)

    return wrapper


def ensure_staff(principal: Principal) -> None:
    """A step for departmental staff only (the use case's own check; routes have ``staff_required``)."""
    if not principal.is_staff:
        raise Forbidden("Réservé au personnel de l'OCCE.")


def ensure_own_cooperative(principal: Principal, cooperative: str) -> None:
    """A school asks only about its own cooperative: refused before anything is looked up,
    so a school learns nothing of another's existence."""
    if not principal.is_staff and principal.cooperative != cooperative:
        raise Forbidden("Vous n'avez accès qu'à votre coopérative.")


def ensure_access(principal: Principal, cooperative: str, department: str) -> None:
    """A school sees only its own cooperative; staff only their department."""
    ensure_own_cooperative(principal, cooperative)
    if principal.is_staff and principal.department != department:
        raise Forbidden("Cette coopérative relève d'un autre département.")
