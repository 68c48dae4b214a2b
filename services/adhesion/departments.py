"""Departments and their staff (docs/campaign.md#1-departments-and-their-staff): the
national administrator (the first account) creates departments and staff anywhere; a
department's staff create staff of their own department and set their association's
details."""
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.adhesion import login_names
from services.adhesion.models import Account, Department
from shared.auth import Principal, hash_password, issue_token
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.service import ServiceContext

# API name -> column: the contract says "contract", the row says insurer_contract
COLUMNS = {"contract": "insurer_contract"}


def is_national(session, principal: Principal) -> bool:
    account = session.get(Account, principal.login)
    return bool(account and account.role == "staff" and account.national and account.active)


def _own_or_national(session, principal: Principal, department: str) -> None:
    if not principal.is_staff:
        raise Forbidden("Réservé au personnel de l'OCCE.")
    if principal.department != department and not is_national(session, principal):
        raise Forbidden("Ce département n'est pas le vôtre.")


def create_department(ctx: ServiceContext, principal: Principal, data: dict) -> Department:
    taken = Conflict(f"Le département {data['number']} existe déjà.", {"number": ["Déjà créé."]})
    try:
        with ctx.database.session() as session:
            if not is_national(session, principal):
                raise Forbidden("Seul l'administrateur national crée des départements.")
            if session.get(Department, data["number"]) is not None:
                raise taken
            department = Department(
                code=data["number"], name=data["name"], insurer=data["insurer"], insurer_contract=data["contract"],
                sender_name=data["sender_name"] or f"OCCE {data['number']}",
            )
            session.add(department)
            ctx.audit(session, "department.created", f"departement:{data['number']}", {"department": data["number"]}, department=data["number"])
    except IntegrityError:  # created by a concurrent request
        raise taken
    return department


def list_departments(ctx: ServiceContext, principal: Principal) -> list[Department]:
    with ctx.database.session() as session:
        query = select(Department).order_by(Department.code)
        if not is_national(session, principal):
            query = query.where(Department.code == principal.department)
        return list(session.scalars(query))


def get_department(ctx: ServiceContext, principal: Principal, code: str) -> Department:
    """Its own department to anyone signed in (a school's pages name its association)."""
    with ctx.database.session() as session:
        if principal.department != code:
            _own_or_national(session, principal, code)
        department = session.get(Department, code)
        if department is None:
            raise NotFound(f"Département {code} inconnu.")
        return department


def update_department(ctx: ServiceContext, principal: Principal, code: str, data: dict) -> Department:
    with ctx.database.session() as session:
        _own_or_national(session, principal, code)
        department = session.get(Department, code)
        if department is None:
            raise NotFound(f"Département {code} inconnu.")
        ctx.audit(session, "department.changed", f"departement:{code}", {"fields": sorted(data)}, department=code)
        for name, value in data.items():
            if name == "iban":
                value = value.replace(" ", "").upper()
            elif name == "bic":
                value = value.strip().upper()
            setattr(department, COLUMNS.get(name, name), value)
        return department


def create_staff(ctx: ServiceContext, principal: Principal, data: dict) -> Account:
    taken = Conflict(f"L'identifiant {data['login']} existe déjà.", {"login": ["Déjà utilisé."]})
    try:
        with ctx.database.session() as session:
            _own_or_national(session, principal, data["department"])
            if session.get(Department, data["department"]) is None:
                raise Invalid(f"Département {data['department']} inconnu.", {"department": ["Département inconnu."]})
            login_names.check_staff_login(session, data["login"])
            account = Account(
                login=data["login"].strip(), password_hash=hash_password(data["password"]), role="staff",
                department=data["department"], email=data["email"], national=False, active=True,
            )
            session.add(account)
            ctx.audit(session, "staff.created", f"compte:{account.login}", {"login": account.login}, department=data["department"])
    except IntegrityError:
        raise taken
    return account


def list_staff(ctx: ServiceContext, principal: Principal) -> list[Account]:
    with ctx.database.session() as session:
        query = select(Account).where(Account.role == "staff").order_by(Account.department, Account.login)
        if not is_national(session, principal):
            query = query.where(Account.department == principal.department)
        return list(session.scalars(query))


def switch_department(ctx: ServiceContext, principal: Principal, code: str) -> dict:
    """The national administrator works in another department: a token of the same
    session naming that department (every service reads the department from the token)."""
    with ctx.database.session() as session:
        if not is_national(session, principal):
            raise Forbidden("Seul l'administrateur national change de département.")
        department = session.get(Department, code)
        if department is None:
            raise NotFound(f"Le département {code} n'existe pas.")
        name = department.name
    switched = Principal(principal.login, principal.role, code, None, principal.session)
    return {"token": issue_token(ctx.settings.secret_key, switched), "role": principal.role,
            "cooperative": None, "department": code, "national": True, "name": name}
