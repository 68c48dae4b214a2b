"""``/api/auth``: login, logout, password change and the single-use reset link.

The throttle follows SPEC §4. A cooperative number is public, so a login's own limit
cannot be low without letting anyone lock a school out; failures are counted
- per (login, address): 10 in 15 minutes answer 429 for that pair, the right password
  included;
- per address: 30 in 15 minutes answer 429 whatever the login and password (password
  spraying learns nothing from the answer);
- per login from every address: 100 in an hour answer 429, and the school is emailed a
  single-use reset link (``password_reset.requested``) instead of being silently locked;
and a browser that logged in successfully before (a signed device token, kept by the
pages in a cookie) is never refused with the right password. A refusal comes before
the password is hashed, so a flood of refused logins costs a query, not scrypt.
"""
import secrets
from datetime import datetime, timedelta, timezone

from flask import current_app
from flask_smorest import Blueprint
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import and_, delete, func, or_, select

from services.adhesion import passwords
from services.adhesion.models import Account, LoginFailure, PasswordReset
from services.adhesion.schemas import LoginIn, LoginOut, PasswordChangeIn, PasswordChangeOut, PasswordResetConfirmIn
from shared.auth import (
    Principal,
    burn_password_time,
    client_address,
    current_principal,
    hash_password,
    login_required,
    open_session,
    session_store,
    verify_password,
)
from shared.errors import ApiError
from shared.service import after_commit_publish, service

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Connexion")

PAIR_LIMIT = 10
ADDRESS_LIMIT = 30
WINDOW = timedelta(minutes=15)
LOGIN_LIMIT = 100
LOGIN_WINDOW = timedelta(hours=1)
DEVICE_MAX_AGE = 400 * 24 * 3600
BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."
TOO_MANY = "Trop de tentatives : réessayez dans 15 minutes."
LOGIN_LOCKED = ("Trop de tentatives pour cet identifiant depuis une heure. Un lien pour choisir un nouveau mot "
                "de passe a été envoyé à la boîte mail de l'école ; sinon, réessayez dans une heure.")


def refusal(pair_failures: int, address_failures: int, login_failures: int) -> str | None:
    """Why a login attempt is refused before its password is even checked (None: check it)."""
    if pair_failures >= PAIR_LIMIT or address_failures >= ADDRESS_LIMIT:
        return TOO_MANY
    if login_failures >= LOGIN_LIMIT:
        return LOGIN_LOCKED
    return None


def _devices(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="retkoop-device")


def issue_device(secret_key: str, login: str) -> str:
    """A token that says "this browser logged in as ``login``": only the server can make one."""
    return _devices(secret_key).dumps({"l": login, "n": secrets.token_urlsafe(8)})


def known_device(secret_key: str, devices: str | None, login: str) -> bool:
    """Whether one of the device tokens (space-separated, as the pages keep several) was
    made for ``login``."""
    for token in (devices or "").split()[:10]:
        try:
            data = _devices(secret_key).loads(token, max_age=DEVICE_MAX_AGE)
        except BadSignature:
            continue
        if isinstance(data, dict) and data.get("l") == login:
            return True
    return False


def _counts(session, name: str, address: str, now: datetime) -> tuple[int, int, int]:
    recent = LoginFailure.at >= now - WINDOW
    row = session.execute(
        select(
            func.count().filter(and_(LoginFailure.login == name, LoginFailure.address == address, recent)),
            func.count().filter(and_(LoginFailure.address == address, recent)),
            func.count().filter(LoginFailure.login == name),
        ).where(or_(LoginFailure.login == name, LoginFailure.address == address), LoginFailure.at >= now - LOGIN_WINDOW)
    ).one()
    return row[0], row[1], row[2]


@blp.post("/login")
@blp.arguments(LoginIn)
@blp.response(200, LoginOut)
def login(credentials):
    secret_key = current_app.config["SECRET_KEY"]
    address = client_address(secret_key)[:64]
    name = credentials["login"].strip()
    trusted = known_device(secret_key, credentials.get("device"), name)
    now = datetime.now(timezone.utc)
    with service().database.session() as session:
        pair, from_address, for_login = _counts(session, name, address, now)
        refused = None if trusted else refusal(pair, from_address, for_login)
        if refused:
            raise ApiError(429, refused)
        account = session.get(Account, name) or session.get(Account, name.upper())  # « 0382296p00 » too
        session.expunge_all()
    # Hashed outside any transaction: scrypt takes tens of milliseconds, and on SQLite an
    # open transaction holds the service's only write lock.
    if account is None:
        burn_password_time(credentials["password"])
    ok = account is not None and verify_password(credentials["password"], account.password_hash)
    ok = ok and account.active  # a deactivated cooperative keeps its history, not its login
    with service().database.session() as session:
        if ok:
            session.execute(delete(LoginFailure).where(LoginFailure.login == name, LoginFailure.address == address))
            principal = Principal(account.login, account.role, account.department, account.cooperative)
            national = account.national
        else:
            session.add(LoginFailure(login=name, address=address, at=now))
            session.execute(delete(LoginFailure).where(LoginFailure.at < now - LOGIN_WINDOW))
            reset_sent = (
                account is not None and for_login + 1 >= LOGIN_LIMIT and _lockout_reset(session, account, now)
            )
    if not ok:
        if reset_sent:
            after_commit_publish()
        raise ApiError(401, BAD_CREDENTIALS)
    token, principal = open_session(session_store(), principal)
    return {
        "token": token,
        "role": principal.role,
        "cooperative": principal.cooperative,
        "department": principal.department,
        "device": issue_device(secret_key, principal.login),
        "national": national,
    }


def _lockout_reset(session, account: Account, now: datetime) -> bool:
    """Email the school a reset link, once per hour of lockout (a school's account only:
    staff accounts have no mailbox here)."""
    if account.cooperative is None:
        return False
    already = session.scalar(select(func.count()).where(
        PasswordReset.login == account.login, PasswordReset.reason == "lockout",
        PasswordReset.created_at >= now - LOGIN_WINDOW))
    if already:
        return False
    record_reset(session, account, "lockout", now)
    return True


def record_reset(session, account: Account, reason: str, now: datetime) -> None:
    """A single-use reset link (kept hashed) and its ``password_reset.requested`` event:
    the one mechanism of services/adhesion/passwords.py (invitations, lost passwords)."""
    passwords.issue_link(session, service().settings.public_base_url, account, reason, now)


@blp.post("/logout")
@login_required
@blp.response(204)
def logout():
    """The token (and the page session holding it) stops working at once."""
    session_store().close(current_principal().session)


@blp.post("/password")
@login_required
@blp.arguments(PasswordChangeIn)
@blp.response(200, PasswordChangeOut)
def change_password(data):
    """A new password; every other session of the account is closed (a lost phone, a
    shared computer), this one stays open."""
    principal = current_principal()
    secret_key = current_app.config["SECRET_KEY"]
    address = client_address(secret_key)[:64]
    now = datetime.now(timezone.utc)
    with service().database.session() as session:
        pair, from_address, _ = _counts(session, principal.login, address, now)
        if pair >= PAIR_LIMIT or from_address >= ADDRESS_LIMIT:  # a stolen token is no oracle either
            raise ApiError(429, TOO_MANY)
        account = session.get(Account, principal.login)
        session.expunge_all()
    wrong = account is None or not verify_password(data["current"], account.password_hash)
    if not wrong and data["new"] == data["current"]:
        raise ApiError(422, "Le nouveau mot de passe doit être différent.",
                       {"new": ["Choisissez un mot de passe différent de l'actuel."]})
    new_hash = None if wrong else hash_password(data["new"])
    with service().database.session() as session:
        if wrong:
            session.add(LoginFailure(login=principal.login, address=address, at=now))
        else:
            session.get(Account, principal.login).password_hash = new_hash
    if wrong:
        raise ApiError(422, "Le mot de passe actuel est incorrect.", {"current": ["Mot de passe incorrect."]})
    closed = session_store().close_all(principal.login, keep=principal.session)
    return {"closed_sessions": closed}


@blp.post("/password-reset/confirm")
@blp.arguments(PasswordResetConfirmIn)
@blp.response(200, PasswordChangeOut)
def confirm_reset(data):
    """The link's new password: the token works once, within the hour; every session of
    the account is closed (whoever was guessing may have got in)."""
    login = passwords.confirm(service(), data["token"], data["password"], datetime.now(timezone.utc))
    closed = session_store().close_all(login)
    return {"closed_sessions": closed, "login": login}
