"""Personal data (docs/audit.md#personal-data): each service answers for what it holds
about a cooperative's people at ``GET /api/<service>/internal/personal-data/<number>``
(another service's credential only), and erases it when ``cooperative.personal_data_erased``
arrives. The adhesion service gathers the answers over HTTP into one document; no service
reads another's tables."""
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal

import requests
from marshmallow import Schema, fields

from shared.auth import issue_service_token, service_required
from shared.errors import Unavailable, checked_path

ANONYMISED = "anonymisé"
TIMEOUT = (3, 20)


class PersonalDataOut(Schema):
    """What one service holds about the cooperative's people, table by table."""

    service = fields.String()
    tables = fields.Dict(keys=fields.String(), values=fields.List(fields.Dict()))


def plain(value):
    """A row's value as JSON carries it."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def rows(session, query, columns: tuple[str, ...]) -> list[dict]:
    return [{name: plain(getattr(row, name)) for name in columns} for row in session.scalars(query)]


def internal_route(blp, export: Callable) -> None:
    """``GET …/internal/personal-data/<number>`` on the service's blueprint, answered by
    ``export(ctx, number)`` → ``{table: [rows]}``."""
    from shared.service import service

    @blp.get("/internal/personal-data/<number>")
    @service_required
    @blp.response(200, PersonalDataOut)
    def personal_data(number):
        """What this service holds about the cooperative's people (a service credential only)."""
        checked_path(number)
        ctx = service()
        return {"service": ctx.name, "tables": export(ctx, number)}


def gather(settings, asking: str, number: str, services: list[str]) -> dict:
    """Every other service's answer, over HTTP through the internal address (the gateway)."""
    headers = {"Authorization": f"Bearer {issue_service_token(settings.secret_key, asking)}",
               "Accept": "application/json"}
    found = {}
    for name in services:
        url = f"{settings.internal_api_url}/api/{name}/internal/personal-data/{number}"
        try:
            response = requests.get(url, headers=headers, timeout=TIMEOUT)
        except requests.RequestException:
            raise Unavailable(f"Le service {name} ne répond pas : réessayez dans un instant.")
        if response.status_code != 200:
            raise Unavailable(f"Le service {name} n'a pas répondu ({response.status_code}) : réessayez.")
        found[name] = response.json()["tables"]
    return found


def scrub_outbox(session, model, secrets: list[str]) -> int:
    """The outbox keeps published events a while (for inquiries): the names and mailboxes
    its payloads carry become « anonymisé » too. Returns how many rows changed."""
    import json

    from sqlalchemy import or_, select

    secrets = sorted({s for s in secrets if s and s != ANONYMISED}, key=len, reverse=True)
    if not secrets:
        return 0
    changed = 0
    for row in session.scalars(select(model).where(or_(*(model.payload.contains(json.dumps(s)[1:-1])
                                                        for s in secrets)))):
        payload = row.payload
        for secret in secrets:
            payload = payload.replace(json.dumps(secret)[1:-1], ANONYMISED)
        row.payload = payload
        changed += 1
    return changed


def scrub_text(value: str | None, secrets: list[str]) -> str | None:
    """``value`` with every one of ``secrets`` replaced by « anonymisé »."""
    if not value:
        return value
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        value = value.replace(secret, ANONYMISED)
    return value


def oldest_kept_year(day, years: int) -> str:
    """The oldest school year accounting keeps on ``day``: the one holding the day ``years``
    years before (kept whole), so every year before it has been over for at least that long."""
    from shared import schoolyear

    try:
        cutoff = day.replace(year=day.year - years)
    except ValueError:  # 29 February
        cutoff = day.replace(year=day.year - years, day=28)
    return schoolyear.of(cutoff)
