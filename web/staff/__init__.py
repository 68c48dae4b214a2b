"""OCCE staff pages (``/personnel``): the department's adhesions, one adhesion's checklist
and actions, new cooperatives, the email log and the year's rates."""
from flask import Blueprint, session

from web.formatting import short_department

bp = Blueprint("staff", __name__, url_prefix="/personnel")


def department_short() -> str:
    """« OCCE 38 », as the guide names the signed-in staff's association."""
    return short_department(session.get("department"))


from web.staff import adhesion, campaign, cooperatives, department, journal, rates, settings, system  # noqa: E402,F401  (their routes join bp)
