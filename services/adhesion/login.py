"""``/api/auth``: login with the same answer for an unknown login and a wrong password,
and a throttle on repeated failures (SPEC §4: 10 per login or address in 15 minutes)."""
from datetime import datetime, timedelta, timezone

from flask import current_app
from flask_smorest import Blueprint
from sqlalchemy import delete, func, select

from services.adhesion.models import Account, LoginFailure
from services.adhesion.schemas import LoginIn, LoginOut
from shared.auth import Principal, burn_password_time, client_address, issue_token, verify_password
from shared.errors import ApiError
from shared.service import service

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Connexion")

MAX_FAILURES = 10
WINDOW = timedelta(minutes=15)
BAD_CREDENTIALS = "Identifiant ou mot de passe incorrect."


@blp.post("/login")
@blp.arguments(LoginIn)
@blp.response(200, LoginOut)
def login(credentials):
    address = client_address(current_app.config["SECRET_KEY"])
    name = credentials["login"].strip()
    since = datetime.now(timezone.utc) - WINDOW
    with service().database.session() as session:
        failures_for_login = session.scalar(
            select(func.count()).where(LoginFailure.login == name, LoginFailure.at >= since)
        )
        if failures_for_login >= MAX_FAILURES:
            raise ApiError(429, "Trop de tentatives pour cet identifiant : réessayez dans 15 minutes.")
        account = session.get(Account, name)
        if account is None:
            burn_password_time(credentials["password"])
        ok = account is not None and verify_password(credentials["password"], account.password_hash)
        if ok:
            principal = Principal(
                login=account.login, role=account.role, department=account.department, cooperative=account.cooperative
            )
            session.execute(delete(LoginFailure).where(LoginFailure.login == name))
        else:
            failures_from_address = session.scalar(
                select(func.count()).where(LoginFailure.address == address, LoginFailure.at >= since)
            )
            session.add(LoginFailure(login=name, address=address, at=datetime.now(timezone.utc)))
            session.execute(delete(LoginFailure).where(LoginFailure.at < since))
    if not ok:
        # Past the address limit a failure answers 429 (slow down); a right password still
        # gets in, since every school of a town may share one public address.
        if failures_from_address >= MAX_FAILURES:
            raise ApiError(429, "Trop de tentatives : réessayez dans 15 minutes.")
        raise ApiError(401, BAD_CREDENTIALS)
    return {
        "token": issue_token(current_app.config["SECRET_KEY"], principal),
        "role": principal.role,
        "cooperative": principal.cooperative,
        "department": principal.department,
    }
