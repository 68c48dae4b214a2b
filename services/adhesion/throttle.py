"""The login throttle (docs/http.md#5-the-login-throttle).

A cooperative number is public, so a login's own limit cannot be low without letting
anyone lock a school out; failures are counted
- per (login, address): 10 in 15 minutes refuse that pair, the right password included;
- per address: 30 in 15 minutes refuse whatever the login and password (password
  spraying learns nothing from the answer);
- per login from every address: 100 in an hour refuse, and the school is emailed a
  single-use reset link (``password_reset.requested``) instead of being silently locked;
and a browser that logged in successfully before (a signed device token, kept by the
pages in a cookie) is never refused with the right password. A refusal comes before
the password is hashed, so a flood of refused logins costs a query, not scrypt.
"""
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
DEVICE_MAX_AGE = 400 * 24 * 3600
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
    recent = LoginFailure.at >= now - WINDOW
    row = session.execute(
        select(
            func.count().filter(and_(LoginFailure.login == login, LoginFailure.address == address, recent)),
            func.count().filter(and_(LoginFailure.address == address, recent)),
            func.count().filter(LoginFailure.login == login),
        ).where(or_(LoginFailure.login == login, LoginFailure.address == address), LoginFailure.at >= now - LOGIN_WINDOW)
    ).one()
    return Failures(pair=row[0], address=row[1], login=row[2])


def address_held(session: Session, address: str, now: datetime) -> bool:
    """Whether ``address`` failed too often lately to be answered (any login)."""
    count = session.scalar(select(func.count()).where(
        LoginFailure.address == address[:ADDRESS_WIDTH], LoginFailure.at >= now - WINDOW))
    return count >= ADDRESS_LIMIT


def record_failure(session: Session, login: str, address: str, now: datetime) -> None:
    session.add(LoginFailure(login=login, address=address, at=now))


def forget_expired(session: Session, now: datetime) -> None:
    """Failures older than the longest window count for nothing."""
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - LOGIN_WINDOW))


def forget_pair(session: Session, login: str, address: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.login == login, LoginFailure.address == address))


def forget_login(session: Session, login: str) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.login == login))


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
