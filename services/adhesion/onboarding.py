"""Running hundreds of cooperatives (docs/campaign.md#3-bulk-onboarding): the bulk CSV
import with its invitations, editing and deactivating one, and the staff list searched,
sorted and paged."""
import math
import unicodedata
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.adhesion import campaign, domain, events, importing, passwords
from services.adhesion.departments import is_national
from services.adhesion.models import Account, Adhesion, Cooperative, CooperativeChange, Department, RateCard
from services.adhesion.repository import rates_of
from shared.auth import Principal, session_store
from shared.errors import Conflict, Forbidden, Invalid, NotFound, TooLarge
from shared.service import ServiceContext

ZERO = Decimal("0.00")
# an account with this hash has no password yet: nothing verifies against it
NO_PASSWORD = "!invited"


class _DryRun(Exception):
    """Raised inside the transaction of a dry run: everything it did is rolled back."""


def import_cooperatives(ctx: ServiceContext, principal: Principal, body: bytes, dry_run: bool,
                        other_department: bool = False) -> dict:
    """All or nothing: one bad line and nothing is written (422 with every error). New
    cooperatives get an invitation; an unchanged line does nothing, so a second import
    of the same file sends nothing."""
    try:
        rows, problems = importing.parse(body)
    except importing.TooLarge as exc:
        raise TooLarge(str(exc))
    now = datetime.now(timezone.utc)
    result = {"created": 0, "updated": 0, "unchanged": 0, "errors": [], "dry_run": dry_run, "rows": []}
    try:
        with ctx.database.session() as session:
            existing = {c.number: c for c in session.scalars(
                select(Cooperative).where(Cooperative.number.in_([row.number for row in rows])))}
            logins = set(session.scalars(select(Account.login).where(Account.login.in_([row.number for row in rows]))))
            names = dict(session.execute(select(Department.code, Department.name)).all())
            overridden = other_department and is_national(session, principal)
            for row in rows:
                cooperative = existing.get(row.number)
                if cooperative is not None and cooperative.department != principal.department:
                    problems.append(importing.Problem(row.line, "number", "Ce numéro appartient à un autre département."))
                elif cooperative is None and row.number in logins:
                    problems.append(importing.Problem(row.line, "number", "Cet identifiant est déjà pris."))
                elif cooperative is None and not overridden:
                    problem = domain.other_department_problem(row.number, principal.department, names)
                    if problem:
                        problems.append(importing.Problem(row.line, "number", problem))
            if problems:
                result["errors"] = [vars(p) for p in sorted(problems, key=lambda p: (p.line, p.field))]
                raise _DryRun()
            for row in rows:
                action = _upsert(session, principal, existing.get(row.number), row, now)
                result[action] += 1
                result["rows"].append({"line": row.line, "number": row.number, "name": row.name, "town": row.town,
                                       "email": row.email, "action": action})
            session.flush()  # the new cooperatives, in one batch, before their logins
            department = session.get(Department, principal.department)
            for cooperative in session.scalars(select(Cooperative).where(
                    Cooperative.number.in_([row.number for row in rows if row.number not in existing]))):
                _invite(session, ctx, principal, cooperative, department, now)
            ctx.audit(session, "cooperatives.imported", f"import:{principal.department}", {k: result[k] for k in ("created", "updated", "unchanged")} | {"numbers": [r["number"] for r in result["rows"] if r["action"] != "unchanged"]})
            if dry_run:
                raise _DryRun()
    except _DryRun:
        pass
    except IntegrityError:  # a concurrent import created one of these numbers
        raise Conflict("Un autre import est en cours : réessayez.")
    if result["errors"]:
        fields = {}
        for error in result["errors"]:
            fields.setdefault(str(error["line"]), {}).setdefault(error["field"], []).append(error["message"])
        raise Invalid(f"{len(result['errors'])} erreur(s) : rien n'a été importé.", fields,
                       errors=result["errors"], created=0, updated=0, unchanged=0)
    if not dry_run:
        ctx.publish()
    return result


def _upsert(session, principal: Principal, cooperative: Cooperative | None, row: importing.Row,
            now: datetime) -> str:
    if cooperative is None:
        session.add(Cooperative(number=row.number, name=row.name, town=row.town, email=row.email,
                                department=principal.department, active=True))
        return "created"
    changes = _apply(session, cooperative, {"name": row.name, "town": row.town, "email": row.email},
                     principal.login, now)
    return "updated" if changes else "unchanged"


def _invite(session, ctx: ServiceContext, principal: Principal, cooperative: Cooperative, department: Department,
            now: datetime) -> None:
    """A login without password, and the link to choose it (the first link of the login)."""
    account = Account(login=cooperative.number, password_hash=NO_PASSWORD, role="school",
                      department=principal.department, cooperative=cooperative.number, active=True)
    session.add(account)
    passwords.issue_link(session, ctx.settings, account, "invitation", now, (cooperative, department))


def _apply(session, cooperative: Cooperative, values: dict, by: str, now: datetime) -> list[str]:
    """Change what differs; a new mailbox is logged (the school's emails go there now)."""
    changed = []
    for name, value in values.items():
        old = getattr(cooperative, name)
        if value is None or value == old:
            continue
        if name == "email":
            session.add(CooperativeChange(cooperative=cooperative.number, field=name, old=old, new=value, by=by, at=now))
        setattr(cooperative, name, value)
        changed.append(name)
    return changed


def update_cooperative(ctx: ServiceContext, principal: Principal, number: str, data: dict) -> dict:
    now = datetime.now(timezone.utc)
    with ctx.database.session() as session:
        cooperative = _own(session, principal, number)
        if data.get("department") and data["department"] != cooperative.department:
            _move(ctx, session, principal, cooperative, data["department"], now)
        _apply(session, cooperative, {k: data.get(k) for k in ("name", "town", "email")}, principal.login, now)
        if "active" in data and data["active"] != cooperative.active:
            session.add(CooperativeChange(cooperative=number, field="active", old=str(cooperative.active).lower(),
                                          new=str(data["active"]).lower(), by=principal.login, at=now))
            cooperative.active = data["active"]
            account = session.get(Account, number)
            if account is not None:
                account.active = data["active"]  # no login while deactivated
            events.active_changed(session, cooperative, now)
        session.flush()
        fields = sorted(k for k in data if k not in ("active", "department"))  # a move has its own record
        if fields or "active" in data or "department" not in data:
            ctx.audit(session, "cooperative.changed", number, {"fields": fields, **({"active": data["active"]} if "active" in data else {})})
        answer = _detail(session, cooperative)
    ctx.publish()
    if data.get("active") is False:
        session_store().close_all(number)  # a school signed in now is signed out too
    return answer


def cooperative_detail(ctx: ServiceContext, principal: Principal, number: str) -> dict:
    with ctx.database.session() as session:
        return _detail(session, _own(session, principal, number))


def send_reset_link(ctx: ServiceContext, principal: Principal, number: str) -> dict:
    with ctx.database.session() as session:
        _own(session, principal, number)
    passwords.send_reset_by_staff(ctx, number, datetime.now(timezone.utc))
    return {"status": "accepted"}


def _own(session, principal: Principal, number: str) -> Cooperative:
    """The department's cooperative; the national administrator reaches every department's."""
    cooperative = session.get(Cooperative, number)
    if cooperative is None:
        raise NotFound(f"Coopérative {number} inconnue.")
    if cooperative.department != principal.department and not is_national(session, principal):
        raise Forbidden("Cette coopérative relève d'un autre département.")
    return cooperative


def _move(ctx: ServiceContext, session, principal: Principal, cooperative: Cooperative, department: str,
          now: datetime) -> None:
    """The national administrator moves a cooperative created in the wrong department, with
    its login. Only before any adhesion is sent: the other services keep the department of
    what was sent (dues, payments, documents, the book) and would disagree."""
    if not is_national(session, principal):
        raise Forbidden("Seul l'administrateur national déplace une coopérative d'un département à l'autre.")
    if session.get(Department, department) is None:
        raise Invalid(f"Le département {department} n'existe pas.", {"department": ["Département inconnu."]})
    sent = session.scalars(select(Adhesion.year).where(Adhesion.cooperative == cooperative.number,
                                                       Adhesion.status != domain.DRAFT)).first()
    if sent is not None:
        raise Conflict(f"La coopérative {cooperative.number} a déjà envoyé son adhésion {sent} dans le département "
                       f"{cooperative.department} : elle ne peut plus être déplacée.", {"department": [
                           "Adhésion déjà envoyée."]})
    session.add(CooperativeChange(cooperative=cooperative.number, field="department", old=cooperative.department,
                                  new=department, by=principal.login, at=now))
    # filed under the department it joins: its staff see where it came from, and its history follows it
    ctx.audit(session, "cooperative.moved", cooperative.number,
              {"department": {"before": cooperative.department, "after": department}}, department=department)
    cooperative.department = department
    account = session.get(Account, cooperative.number)
    if account is not None:
        account.department = department
    # a draft follows its cooperative: nothing was sent anywhere yet
    for draft in session.scalars(select(Adhesion).where(Adhesion.cooperative == cooperative.number)):
        draft.department = department


def _detail(session, cooperative: Cooperative) -> dict:
    changes = session.scalars(select(CooperativeChange).where(CooperativeChange.cooperative == cooperative.number)
                              .order_by(CooperativeChange.at.desc(), CooperativeChange.id.desc())).all()
    return {"number": cooperative.number, "name": cooperative.name, "town": cooperative.town,
            "email": cooperative.email, "department": cooperative.department, "active": cooperative.active,
            "changes": changes}


def folded(text: str) -> str:
    """Case and accents ignored: « moulin » finds « MOULIN », « ecole » finds « École »."""
    return "".join(c for c in unicodedata.normalize("NFD", text.casefold()) if not unicodedata.combining(c))


def search_cooperatives(ctx: ServiceContext, principal: Principal, query: dict, default_year: str) -> dict:
    """The department's cooperatives with their adhesion of the year: searched by number,
    name or town, sorted, one page, and the totals of the whole filtered set."""
    year = query.get("year", default_year)
    with ctx.database.session() as session:
        cooperatives = session.scalars(select(Cooperative).where(Cooperative.department == principal.department)).all()
        card = session.scalars(select(RateCard).where(RateCard.department == principal.department,
                                                      RateCard.year == year)).first()
        figures = campaign.year_figures(session, principal.department, year, rates_of(card) if card else None)
        rows = [_row(c, figures.get(c.number)) for c in cooperatives]
    if query.get("q"):
        words = folded(query["q"]).split()
        rows = [r for r in rows if all(w in folded(f"{r['number']} {r['name']} {r['town']}") for w in words)]
    if "active" in query:
        rows = [r for r in rows if r["active"] == query["active"]]
    if "status" in query:
        rows = [r for r in rows if r["status"] == query["status"]]
    sort = query.get("sort", "number")
    if sort == "status":
        order = {s: i for i, s in enumerate(("not_started",) + domain.STATUSES)}
        rows.sort(key=lambda r: (order.get(r["status"], 99), r["number"]))
    elif sort == "date":  # the latest submissions first, never-sent ones last
        rows.sort(key=lambda r: (r["submitted_at"] is None, -(r["submitted_at"].timestamp() if r["submitted_at"] else 0),
                                 r["number"]))
    else:
        rows.sort(key=lambda r: (folded(r[sort]) if sort in ("name", "town") else r[sort], r["number"]))
    totals = {"cooperators": sum(r["cooperators"] for r in rows), "due": sum((r["due"] for r in rows), ZERO),
              "paid": sum((r["paid"] for r in rows), ZERO)}
    per_page = query.get("per_page") or (50 if "page" in query else max(len(rows), 1))
    page = query.get("page", 1)
    pages = max(1, math.ceil(len(rows) / per_page))
    return {"items": rows[(page - 1) * per_page: page * per_page], "total": len(rows), "page": page,
            "pages": pages, "per_page": per_page, "totals": totals}


def _row(cooperative: Cooperative, figures) -> dict:
    row = {"number": cooperative.number, "name": cooperative.name, "town": cooperative.town,
           "email": cooperative.email, "department": cooperative.department, "active": cooperative.active,
           "status": "not_started", "submitted_at": None, "cooperators": 0, "due": ZERO, "paid": ZERO}
    if figures is not None:
        adhesion = figures.adhesion
        row.update(status=adhesion.status, paid=adhesion.amount_paid, submitted_at=adhesion.submitted_at,
                   cooperators=figures.totals.cooperators)
        if figures.amounts is not None and adhesion.status != domain.DRAFT:  # a draft owes nothing yet
            row["due"] = figures.amounts.total
    return row
