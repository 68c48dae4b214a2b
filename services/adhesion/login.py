"""``/api/auth``: login under the throttle (docs/http.md#5-the-login-throttle), logout,
password change and the single-use reset link. Each route parses, calls a use case of
``accounts.py`` and answers."""
from datetime import datetime, timezone

from flask_smorest import Blueprint

from services.adhesion import accounts, departments
from services.adhesion.schemas import (
    DepartmentSwitchIn,
    LoginIn,
    LoginOut,
    PasswordChangeIn,
    PasswordChangeOut,
    PasswordResetConfirmIn,
)
from shared.auth import client_address, current_principal, login_required
from shared.service import service

blp = Blueprint("auth", __name__, url_prefix="/api/auth", description="Connexion")


def _address() -> str:
    return client_address(service().settings.secret_key)


@blp.post("/login")
@blp.arguments(LoginIn)
@blp.response(200, LoginOut)
def login(credentials):
    return accounts.log_in(service(), credentials["login"], credentials["password"], credentials.get("device"),
                           _address(), datetime.now(timezone.utc))


@blp.post("/logout")
@login_required
@blp.response(204)
def logout():
    """The token (and the page session holding it) stops working at once."""
    accounts.log_out(service(), current_principal())


@blp.post("/password")
@login_required
@blp.arguments(PasswordChangeIn)
@blp.response(200, PasswordChangeOut)
def change_password(data):
    """A new password; every other session of the account is closed (a lost phone, a
    shared computer), this one stays open."""
    return accounts.change_password(service(), current_principal(), data["current"], data["new"], _address(),
                                    datetime.now(timezone.utc))


@blp.post("/password-reset/confirm")
@blp.arguments(PasswordResetConfirmIn)
@blp.response(200, PasswordChangeOut)
def confirm_reset(data):
    """The link's new password: the token works once, within the hour; every session of
    the account is closed (whoever was guessing may have got in)."""
    return accounts.confirm_reset(service(), data["token"], data["password"], datetime.now(timezone.utc))


@blp.post("/department")
@login_required
@blp.arguments(DepartmentSwitchIn)
@blp.response(200, LoginOut)
def switch_department(data):
    """National administrator only: a token of this session working in another department."""
    return departments.switch_department(service(), current_principal(), data["department"])
