"""The steps of ``/api/auth``: logging in under the throttle (``throttle.py``), logging
out, changing one's password and confirming a reset link (``passwords.py``)."""
from datetime import datetime

from services.adhesion import login_names, passwords, throttle
from services.adhesion.models import Account
from shared.auth import Principal, burn_password_time, hash_password, open_session, session_store, verify_password
from shared.errors import Invalid, TooManyAttempts, Unauthenticated
from shared.service import ServiceContext

BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."


def log_in(ctx: ServiceContext, login: str, password: str, devices: str | None, address: str,
           now: datetime) -> dict:
    """A session for the right password, unless the throttle refuses first; a failure is
    counted, and the one that locks a school's login out sends its mailbox a reset link.
    A device token of this login lifts a refusal for the right password only: its wrong
    passwords are counted and refused like anyone's."""
    secret_key = ctx.settings.secret_key
    address = address[:throttle.ADDRESS_WIDTH]
    key = login_names.fold(login)
    with ctx.database.session() as session:
        failures = throttle.failures(session, key, address, now)
        refused = throttle.refusal(failures)
        account = login_names.find(session, login) if not refused or devices else None
        if refused and not (account and throttle.known_device(secret_key, devices, key, account.password_hash)):
            raise TooManyAttempts(refused)
        session.expunge_all()
    # Hashed outside any transaction: scrypt takes tens of milliseconds, and on SQLite an
    # open transaction holds the service's only write lock.
    if account is None:
        burn_password_time(password)
    ok = account is not None and verify_password(password, account.password_hash)
    ok = ok and account.active  # a deactivated cooperative keeps its history, not its login
    with ctx.database.session() as session:
        ctx.audit(session, "auth.login" if ok else "auth.login_failed", (account.cooperative or account.login) if account else "", {"login": account.login} if account else {"known": False}, actor=account.login if account else "", actor_kind=(("national" if account.national else "staff") if account.role == "staff" else "school") if account else "anonymous", department=account.department if account else "")
        if ok:
            throttle.forget_pair(session, key, address)
        else:
            throttle.record_failure(session, key, address, now)
            throttle.forget_expired(session, now)
            reset_sent = (account is not None and failures.login + 1 >= throttle.LOGIN_LIMIT
                          and passwords.issue_lockout_link(session, ctx.settings, account, now))
    if not ok:
        if reset_sent:
            ctx.publish()
        if refused:  # a device token with a wrong password: held like any other attempt
            raise TooManyAttempts(refused)
        raise Unauthenticated(BAD_CREDENTIALS)
    token, principal = open_session(session_store(),
                                    Principal(account.login, account.role, account.department, account.cooperative,
                                              national=account.national))
    return {
        "token": token,
        "role": principal.role,
        "cooperative": principal.cooperative,
        "department": principal.department,
        "device": throttle.issue_device(secret_key, key, account.password_hash),
        "national": account.national,
    }


def log_out(ctx: ServiceContext, principal: Principal) -> None:
    """The token (and the page session holding it) stops working at once."""
    session_store().close(principal.session)
    with ctx.database.session() as session:
        ctx.audit(session, "auth.logout", principal.cooperative or principal.login, {"login": principal.login})


def change_password(ctx: ServiceContext, principal: Principal, current: str, new: str, address: str,
                    now: datetime) -> dict:
    """A new password; every other session of the account is closed (a lost phone, a
    shared computer), this one stays open. A wrong current password counts as a failed
    login, and the throttle holds this step as it holds a login."""
    address = address[:throttle.ADDRESS_WIDTH]
    key = login_names.fold(principal.login)
    with ctx.database.session() as session:
        if throttle.failures(session, key, address, now).held:
            raise TooManyAttempts(throttle.TOO_MANY)
        account = session.get(Account, principal.login)
        session.expunge_all()
    wrong = account is None or not verify_password(current, account.password_hash)
    if not wrong and new == current:
        raise Invalid("Le nouveau mot de passe doit être différent.",
                      {"new": ["Choisissez un mot de passe différent de l'actuel."]})
    new_hash = None if wrong else hash_password(new)
    with ctx.database.session() as session:
        if wrong:
            throttle.record_failure(session, key, address, now)
        else:
            session.get(Account, principal.login).password_hash = new_hash
        ctx.audit(session, "auth.password_change_failed" if wrong else "auth.password_changed", principal.cooperative or principal.login, {"login": principal.login})
    if wrong:
        raise Invalid("Le mot de passe actuel est incorrect.", {"current": ["Mot de passe incorrect."]})
    # every device token dies with the old password; this browser gets one for the new
    return {"closed_sessions": session_store().close_all(principal.login, keep=principal.session),
            "device": throttle.issue_device(ctx.settings.secret_key, key, new_hash)}


def confirm_reset(ctx: ServiceContext, token: str, password: str, now: datetime) -> dict:
    """The link's new password: the token works once, within the hour; every session of
    the account is closed (whoever was guessing may have got in)."""
    login = passwords.confirm(ctx, token, password, now)
    return {"closed_sessions": session_store().close_all(login), "login": login}
