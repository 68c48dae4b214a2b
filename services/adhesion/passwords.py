"""Single-use links to choose a password: the invitation of a new cooperative (14 days)
and the lost password, « Identifiant ou mot de passe perdus » (one hour).

One mechanism for both: a random token goes once to the account's mailbox (in the
event, sealed: shared/sealed.py), only its SHA-256 is stored; confirming sets the password and spends every open
link of the login, so a used or older link is dead."""
import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from contracts import adhesion as contracts
from services.adhesion import login_names, throttle
from services.adhesion.answers import cooperative_data, department_data
from services.adhesion.models import Account, Cooperative, Department, OutboxEvent, PasswordReset
from shared import outbox, schoolyear, sealed
from shared.auth import hash_password
from shared.config import Settings
from shared.errors import Malformed, TooManyAttempts
from shared.service import ServiceContext

LIFETIME = {"invitation": timedelta(days=14), "requested": timedelta(hours=1), "staff": timedelta(hours=1),
            "lockout": timedelta(hours=1)}
# links asked for one login within an hour, beyond which a request answers the same 202
# and sends nothing (a mailbox is not flooded by someone typing its login)
MAX_REQUESTS_PER_HOUR = 3
DEAD_LINK = "Ce lien n'est plus valable : demandez-en un nouveau."


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def mailbox(session: Session, account: Account) -> tuple[str, Cooperative | None]:
    cooperative = session.get(Cooperative, account.cooperative) if account.cooperative else None
    return (cooperative.email if cooperative else account.email or ""), cooperative


def issue_link(session: Session, settings: Settings, account: Account, reason: str, now: datetime,
               known: tuple[Cooperative, Department] | None = None) -> bool:
    """Store a new link for ``account`` and write its email's event; False when the
    account has no mailbox (nothing to send). A bulk import passes the login's
    cooperative and department (``known``): its first link, without a query per line."""
    if known:
        cooperative, department = known
        to, sequence = cooperative.email, 1
    else:
        to, cooperative = mailbox(session, account)
        department = session.get(Department, account.department)
        sequence = 1 + session.scalar(select(func.count()).where(PasswordReset.login == account.login))
    if not to:
        return False
    token = secrets.token_urlsafe(32)
    expires = now + LIFETIME[reason]
    session.add(PasswordReset(token_hash=token_hash(token), login=account.login, reason=reason, created_at=now,
                              expires_at=expires))
    data = {
        "login": account.login,
        "to": to,
        "cooperative": cooperative_data(cooperative) if cooperative else None,
        "department": department_data(department),
        "expires_at": expires.isoformat(),
        "year": schoolyear.of(now.date()),
        "sequence": sequence,
    }
    # the outbox and the broker hold the link sealed: only notify opens it, to write the email
    if reason == "invitation":
        link = sealed.seal(f"{settings.public_base_url}/invitation/{token}", settings.secret_key)
        outbox.record(session, OutboxEvent, contracts.INVITED, {**data, "sealed_link": link})
    else:
        link = sealed.seal(f"{settings.public_base_url}/mot-de-passe/nouveau/{token}", settings.secret_key)
        outbox.record(session, OutboxEvent, contracts.PASSWORD_RESET_REQUESTED,
                      {**data, "reason": reason, "sealed_link": link})
    return True


def request_reset(ctx: ServiceContext, login: str, address: str, now: datetime) -> None:
    """The lost password: the same silence whether the login (typed in any case) exists
    or not, and beyond the caps (``MAX_REQUESTS_PER_HOUR`` a login, the throttle's
    ``RESET_ADDRESS_LIMIT`` an address) the same silence with no email; an address the
    login throttle holds is refused here too."""
    with ctx.database.session() as session:
        if throttle.address_held(session, address, now):
            raise TooManyAttempts(throttle.TOO_MANY)
        if not throttle.reset_request_allowed(session, address, now):
            return
        account = login_names.find(session, login)
        if account is None or not account.active or not _cooperative_active(session, account):
            return
        recent = session.scalar(select(func.count()).where(
            PasswordReset.login == account.login, PasswordReset.reason != "invitation",
            PasswordReset.created_at >= now - timedelta(hours=1)))
        if recent >= MAX_REQUESTS_PER_HOUR:
            return
        issue_link(session, ctx.settings, account, "requested", now)
        ctx.audit(session, "auth.reset_requested", account.cooperative or account.login, {"login": account.login}, department=account.department)
    ctx.publish()


def issue_lockout_link(session: Session, settings: Settings, account: Account, now: datetime) -> bool:
    """A school's login locked by the throttle: its mailbox gets a link, once per hour of
    lockout (staff accounts have no mailbox here). True when one was issued."""
    if account.cooperative is None:
        return False
    already = session.scalar(select(func.count()).where(
        PasswordReset.login == account.login, PasswordReset.reason == "lockout",
        PasswordReset.created_at >= now - throttle.LOGIN_WINDOW))
    if already:
        return False
    issue_link(session, settings, account, "lockout", now)
    return True


def send_reset_by_staff(ctx: ServiceContext, account_login: str, now: datetime) -> bool:
    with ctx.database.session() as session:
        account = session.get(Account, account_login)
        sent = account is not None and issue_link(session, ctx.settings, account, "staff", now)
        ctx.audit(session, "auth.reset_sent", account_login, {"login": account_login, "sent": bool(sent)})
    ctx.publish()
    return sent


def confirm(ctx: ServiceContext, token: str, password: str, now: datetime) -> str:
    """Set the password of a live link; every open link of the login dies with it.
    Returns the login."""
    with ctx.database.session() as session:
        link = session.scalars(
            select(PasswordReset).where(PasswordReset.token_hash == token_hash(token)).with_for_update()
        ).first()
        if link is None or link.used_at is not None or link.expires_at <= now:
            raise Malformed(DEAD_LINK, {"token": ["Lien inconnu, déjà utilisé ou expiré."]})
        account = session.get(Account, link.login)
        if account is None or not account.active:
            raise Malformed(DEAD_LINK, {"token": ["Ce compte est désactivé."]})
        account.password_hash = hash_password(password)
        session.execute(update(PasswordReset).where(
            PasswordReset.login == link.login, PasswordReset.used_at.is_(None)).values(used_at=now))
        throttle.forget_login(session, login_names.fold(link.login))
        ctx.audit(session, "auth.password_reset", account.cooperative or account.login, {"login": account.login}, actor=account.login, actor_kind="staff" if account.role == "staff" else "school", department=account.department)
        return link.login


def _cooperative_active(session: Session, account: Account) -> bool:
    if account.cooperative is None:
        return True
    cooperative = session.get(Cooperative, account.cooperative)
    return cooperative is not None and cooperative.active
