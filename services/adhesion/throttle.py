"""The login throttle (docs/http.md#5-the-login-throttle).

A cooperative number is public, so a login's own limit cannot be low without letting
anyone lock a school out; failures are counted
- per (login, address): 10 in 15 minutes refuse that pair, the right password included;
- per address: 30 in 15 minutes refuse whatever the login and password (password
  spraying learns nothing from the answer);
- per login from every address: 100 in an hour refuse, and the school is emailed a
  single-use reset link (``password_reset.requested``) instead of being silently locked;
and a browser that logged in successfully before (a signed device token, kept by the
pages in a cookie) is never refused with the right password; its wrong passwords are
counted and refused like anyone's. A refusal comes before the password is hashed, so a
flood of refused logins costs a query, not scrypt (a device token, a secret of the
browser's, buys one hash to tell the right password).

Logins are counted folded (``login_names.fold``): ``0380004d00`` and ``0380004D00`` are
one login. Requests for a reset link are kept in the same table under ``RESET_REQUEST``
(no login folds to it: logins are trimmed), to cap them per address too.
"""
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.orm import Session

from services.adhesion.models import LoginFailure

PAIR_LIMIT = 10
ADDRESS_LIMIT = 30
WINDOW = timedelta(minutes=15)
LOGIN_LIMIT = 100
LOGIN_WINDOW = timedelta(hours=1)
# A school signs in once a year or so (the campaign is yearly): its token must outlive
# a year. It only ever helps the right password, and dies when the password changes.
DEVICE_MAX_AGE = 400 * 24 * 3600
RESET_REQUEST = " reset"  # the "login" of a reset request's row: no login is this
RESET_ADDRESS_LIMIT = 10  # reset requests an hour from one address (LOGIN_WINDOW)
ADDRESS_WIDTH = 64  # the column's width: longer addresses are counted by their start
TOO_MANY = "Trop de tentatives : réessayez dans 15 minutes."
LOGIN_LOCKED = ("Trop de tentatives pour cet identifiant depuis une heure. Un lien pour choisir un nouveau mot "
                "de passe a été envoyé à la boîte mail de l'école ; sinon, réessayez dans une heure.")


@dataclass(frozen=True)
class Failures:
    """Recent failed attempts: of this login from this address and of this address within
    ``WINDOW``, of this login from anywhere within ``LOGIN_WINDOW``."""

    pair: int
    address: int
    login: int

    @property
    def held(self) -> bool:
        """Held whatever the login: a stolen token is no password oracle either."""
        return self.pair >= PAIR_LIMIT or self.address >= ADDRESS_LIMIT


def refusal(failures: Failures) -> str | None:
    """Why a login attempt is refused before its password is even checked (None: check it)."""
    if failures.held:
        return TOO_MANY
    if failures.login >= LOGIN_LIMIT:
        return LOGIN_LOCKED
    return None


def failures(session: Session, login: str, address: str, now: datetime) -> Failures:
    """The counts for ``login`` (folded by the caller) from ``address``."""
    recent = LoginFailure.at >= now - WINDOW
    failed = LoginFailure.login != RESET_REQUEST
    row = session.execute(
        select(
            func.count().filter(and_(LoginFailure.login == login, LoginFailure.address == address, recent)),
            func.count().filter(and_(LoginFailure.address == address, failed, recent)),
            func.count().filter(LoginFailure.login == login),
        ).where(or_(LoginFailure.login == login, LoginFailure.address == address), LoginFailure.at >= now - LOGIN_WINDOW)
    ).one()
    return Failures(pair=row[0], address=row[1], login=row[2])


def address_held(session: Session, address: str, now: datetime) -> bool:
    """Whether ``address`` failed too often lately to be answered (any login)."""
    count = session.scalar(select(func.count()).where(
        LoginFailure.address == address[:ADDRESS_WIDTH], LoginFailure.login != RESET_REQUEST,
        LoginFailure.at >= now - WINDOW))
    return count >= ADDRESS_LIMIT


def record_failure(session: Session, login: str, address: str, now: datetime) -> None:
    session.add(LoginFailure(login=login, address=address, at=now))


def reset_request_allowed(session: Session, address: str, now: datetime) -> bool:
    """Count a reset request from ``address``; False beyond ``RESET_ADDRESS_LIMIT`` an hour
    (then nothing is recorded: a flood adds no rows)."""
    address = address[:ADDRESS_WIDTH]
    count = session.scalar(select(func.count()).where(
        LoginFailure.login == RESET_REQUEST, LoginFailure.address == address, LoginFailure.at >= now - LOGIN_WINDOW))
    if count >= RESET_ADDRESS_LIMIT:
        return False
    forget_expired(session, now)
    record_failure(session, RESET_REQUEST, address, now)
    return True


def forget_expired(session: Session, now: datetime) -> None:
    """Failures older than the longest window count for nothing."""
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - LOGIN_WINDOW))


def forget_pair(session: Session, login: str, address: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.login == login, LoginFailure.address == address))


def forget_login(session: Session, login: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.login == login))


def _devices(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="retkoop-device")


def _password_mark(password_hash: str) -> str:
    """What a device token knows of the password it was earned with: a new password (a
    change, a reset link) makes every older token worthless."""
    return hashlib.sha256(b"retkoop-device\0" + password_hash.encode()).hexdigest()[:16]


def issue_device(secret_key: str, login: str, password_hash: str) -> str:
    """A token that says "this browser logged in as ``login`` with its current password":
    only the server can make one. ``login`` is the folded login."""
    return _devices(secret_key).dumps({"l": login, "p": _password_mark(password_hash),
                                       "n": secrets.token_urlsafe(8)})


def known_device(secret_key: str, devices: str | None, login: str, password_hash: str) -> bool:
    """Whether one of the device tokens (space-separated, as the pages keep several) was
    made for ``login`` (folded) under its current password."""
    mark = _password_mark(password_hash)
    for token in (devices or "").split()[:10]:
        try:
            data = _devices(secret_key).loads(token, max_age=DEVICE_MAX_AGE)
        except BadSignature:
            continue
        if isinstance(data, dict) and data.get("l") == login and data.get("p") == mark:
            return True
    return False
