"""The producing side of the audit log (docs/audit.md): a use case calls
``ctx.audit(session, action, target, details)`` next to the change it makes; an
``audit.recorded`` event goes to the service's outbox in the same transaction, so the
record exists if and only if the change was committed. Who, from where and which request
are read from the request being served; outside one (a beat job, a consumer) the actor is
the system."""
import re
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from flask import current_app, g, has_request_context, request

from contracts.audit import RECORDED
from shared.outbox import record as outbox_record

REQUEST_ID_HEADER = "X-Request-Id"
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}\Z")
# ``details`` carries identifiers, amounts and states: a key naming a person's data or a
# secret is a programming error, refused before anything is written.
FORBIDDEN_KEYS = frozenset({"name", "names", "email", "emails", "mailbox", "to", "password", "token", "teachers",
                            "message", "iban", "raw", "body"})


def install(app) -> None:
    """Every answer names its request (``X-Request-Id``): the one the caller sent, when
    well formed (the pages pass theirs on), else a new one."""
    app.after_request(_name_the_answer)


def _name_the_answer(response):
    response.headers.setdefault(REQUEST_ID_HEADER, request_id())
    return response


def request_id() -> str:
    if not has_request_context():
        return ""
    found = g.get("request_id")
    if found is None:
        given = request.headers.get(REQUEST_ID_HEADER, "")
        found = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        g.request_id = found
    return found


def address() -> str:
    if not has_request_context():
        return ""
    from shared.auth import client_address

    return client_address(current_app.config["SECRET_KEY"])[:64]


def who(principal) -> tuple[str, str, str]:
    """(actor, actor_kind, department) of a principal; the system outside any request."""
    if principal is None:
        return ("système", "system", "") if not has_request_context() else ("", "anonymous", "")
    if principal.role == "service":
        return principal.login, "service", ""
    if principal.is_staff:
        return principal.login, "national" if principal.national else "staff", principal.department
    return principal.login, "school", principal.department


def plain(value):
    """``details`` as it travels: Decimals and moments as strings, nothing else changed."""
    if isinstance(value, dict):
        bad = FORBIDDEN_KEYS & set(value)
        if bad:
            raise ValueError(f"audit details may not carry {sorted(bad)}")
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def record(session, outbox_model, service_name: str, action: str, target: str, details: dict | None = None, *,
           principal=None, actor: str | None = None, actor_kind: str | None = None,
           department: str | None = None) -> None:
    """Add one ``audit.recorded`` to the outbox inside the caller's transaction. The
    principal defaults to the request's; ``actor``/``actor_kind``/``department`` override
    (a sign-in names the account before any token exists)."""
    if principal is None and has_request_context():
        principal = g.get("principal")
    found_actor, found_kind, found_department = who(principal)
    outbox_record(session, outbox_model, RECORDED, {
        "at": datetime.now(timezone.utc).isoformat(), "service": service_name,
        "actor": (actor if actor is not None else found_actor)[:100],
        "actor_kind": actor_kind or found_kind,
        "department": department if department is not None else found_department,
        "action": action, "target": (target or "")[:100], "details": plain(details or {}),
        "address": address(), "request_id": request_id(),
    })
