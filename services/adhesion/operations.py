"""« État du système » for the national administrator (docs/metrics.md#3): the install's
queues, workers, outboxes and email log (``shared.operations``), and every department's
failed emails with « Renvoyer », asked of the notify service with a service credential."""
import requests

from services.adhesion.departments import is_national
from shared import operations
from shared.auth import Principal, issue_service_token
from shared.errors import Conflict, DomainError, Forbidden, NotFound, Unavailable
from shared.service import ServiceContext

SERVICE_NAME = "adhesion"
TIMEOUT = (3, 10)


def ensure_national(ctx: ServiceContext, principal: Principal) -> None:
    with ctx.database.session() as session:
        if not is_national(session, principal):
            raise Forbidden("Réservé à l'administrateur national.")


def status(ctx: ServiceContext, principal: Principal) -> dict:
    ensure_national(ctx, principal)
    found = operations.as_json(operations.snapshot(ctx.settings))
    try:
        found["failed_emails"] = _notify(ctx, "get", "/api/notify/failed", params={"limit": 200}).get("items", [])
    except DomainError as exc:  # the page still shows the rest, and says this part is missing
        found["failed_emails"] = []
        found["errors"]["failed_emails"] = exc.message
    return found


def resend(ctx: ServiceContext, principal: Principal, message_id: int) -> dict:
    ensure_national(ctx, principal)
    answer = _notify(ctx, "post", f"/api/notify/messages/{message_id}/resend")
    # recorded once the notify service has queued it again (its own record names this
    # service as the actor; this one names the person)
    with ctx.database.session() as session:
        ctx.audit(session, "email.resent", f"email:{message_id}", {"email_id": message_id, "via": "operations"})
    return {"id": answer.get("id", message_id), "status": answer.get("status", "queued")}


def _notify(ctx: ServiceContext, method: str, path: str, **kwargs) -> dict:
    headers = {"Authorization": f"Bearer {issue_service_token(ctx.settings.secret_key, SERVICE_NAME)}"}
    try:
        response = requests.request(method, ctx.settings.internal_api_url + path, headers=headers,
                                    timeout=TIMEOUT, **kwargs)
    except requests.RequestException as exc:
        raise Unavailable(f"Le service des e-mails ne répond pas ({type(exc).__name__}).") from None
    if response.status_code >= 500:
        raise Unavailable("Le service des e-mails ne répond pas.")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):  # not the notify service answering (a proxy's page)
        raise Unavailable("Le service des e-mails ne répond pas.")
    if response.status_code == 404:  # its refusals passed on as it said them
        raise NotFound(body.get("message", "Aucun e-mail de ce numéro."))
    if response.status_code >= 400:
        raise Conflict(body.get("message", "Refusé par le service des e-mails."))
    return body
