"""``/api/adhesion`` for the campaign (docs/campaign.md): departments and staff, the bulk
import, editing the cooperatives, the campaign's figures and exports, the reminder
dates; ``/api/auth`` for the lost password. Each route parses, calls a use case and
answers."""
import re
from datetime import datetime, timezone

from flask import Response, request
from flask_smorest import Blueprint

from services.adhesion import campaign, departments, importing, onboarding, passwords, reminders
from services.adhesion.schemas import (
    Accepted,
    CooperativeDetail,
    CooperativeImportOut,
    CooperativePatch,
    DepartmentIn,
    DepartmentList,
    DepartmentOut,
    DepartmentSettingsIn,
    ExportQuery,
    ImportQuery,
    ResetIn,
    ScheduleIn,
    ScheduleOut,
    StaffIn,
    StaffList,
    StaffOut,
    StatsOut,
)
from shared.auth import client_address, current_principal, login_required, staff_required
from shared.errors import ApiError, checked_path
from shared.service import service

blp = Blueprint("departments", __name__, url_prefix="/api/adhesion", description="Départements, import, campagne")
password_links_blp = Blueprint("password_links", __name__, url_prefix="/api/auth", description="Mot de passe perdu")


def _department_path(code: str) -> None:
    if not re.fullmatch(r"\d{2,3}|2[AB]", code):
        raise ApiError(400, "Adresse invalide.", {"number": ["Numéro de département : 38, 974, 2A…"]})


@blp.post("/departments")
@staff_required
@blp.arguments(DepartmentIn)
@blp.response(201, DepartmentOut)
def create_department(data):
    return departments.create_department(service(), current_principal(), data)


@blp.get("/departments")
@staff_required
@blp.response(200, DepartmentList)
def list_departments():
    return {"items": departments.list_departments(service(), current_principal())}


@blp.get("/departments/<code>")
@login_required
@blp.response(200, DepartmentOut)
def get_department(code):
    _department_path(code)
    return departments.get_department(service(), current_principal(), code)


@blp.put("/departments/<code>")
@staff_required
@blp.arguments(DepartmentSettingsIn)
@blp.response(200, DepartmentOut)
def put_department(data, code):
    _department_path(code)
    return departments.update_department(service(), current_principal(), code, data)


@blp.post("/staff")
@staff_required
@blp.arguments(StaffIn)
@blp.response(201, StaffOut)
def create_staff(data):
    return departments.create_staff(service(), current_principal(), data)


@blp.get("/staff")
@staff_required
@blp.response(200, StaffList)
def list_staff():
    return {"items": departments.list_staff(service(), current_principal())}


@blp.post("/cooperatives/import")
@staff_required
@blp.arguments(ImportQuery, location="query")
@blp.response(200, CooperativeImportOut)
def import_cooperatives(query):
    """CSV body (``text/csv``) or a multipart ``file``; ``?dry_run=1`` checks only."""
    if (request.content_length or 0) > importing.MAX_BYTES + 64 * 1024:
        raise ApiError(413, "Le fichier dépasse 2 Mo.")
    request.max_content_length = importing.MAX_BYTES + 64 * 1024  # the one route allowed past 256 KB
    upload = request.files.get("file") if request.mimetype == "multipart/form-data" else None
    body = upload.read(importing.MAX_BYTES + 1) if upload else request.get_data(cache=False)
    return onboarding.import_cooperatives(service(), current_principal(), body, query["dry_run"],
                                          query["other_department"])


@blp.get("/cooperatives/<number>/detail")
@staff_required
@blp.response(200, CooperativeDetail)
def cooperative_detail(number):
    checked_path(number=number)
    return onboarding.cooperative_detail(service(), current_principal(), number)


@blp.patch("/cooperatives/<number>")
@staff_required
@blp.arguments(CooperativePatch)
@blp.response(200, CooperativeDetail)
def patch_cooperative(data, number):
    checked_path(number=number)
    return onboarding.update_cooperative(service(), current_principal(), number, data)


@blp.post("/cooperatives/<number>/password-reset")
@staff_required
@blp.response(202, Accepted)
def staff_reset_link(number):
    checked_path(number=number)
    return onboarding.send_reset_link(service(), current_principal(), number)


@blp.get("/stats/<year>")
@staff_required
@blp.response(200, StatsOut)
def get_stats(year):
    checked_path(year=year)
    return campaign.stats(service(), current_principal(), year)


def _csv_response(body: bytes, name: str) -> Response:
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-cache"})


@blp.get("/adhesions/export.csv")
@staff_required
@blp.arguments(ExportQuery, location="query")
@blp.doc(responses={"200": {"description": "CSV", "content": {"text/csv": {}}}})
def export_adhesions(query):
    checked_path(year=query["year"])
    principal = current_principal()
    body = campaign.adhesions_csv(service(), principal, query["year"])
    return _csv_response(body, f"adhesions-{principal.department}-{query['year']}.csv")


@blp.get("/adhesions/declaration.csv")
@staff_required
@blp.arguments(ExportQuery, location="query")
@blp.doc(responses={"200": {"description": "CSV", "content": {"text/csv": {}}}})
def export_declaration(query):
    checked_path(year=query["year"])
    principal = current_principal()
    body = campaign.declaration_csv(service(), principal, query["year"])
    return _csv_response(body, f"declaration-assurance-{principal.department}-{query['year']}.csv")


@blp.get("/reminders/<year>/schedule")
@staff_required
@blp.response(200, ScheduleOut)
def get_schedule(year):
    checked_path(year=year)
    return reminders.get_schedule(service(), current_principal(), year)


@blp.put("/reminders/<year>/schedule")
@staff_required
@blp.arguments(ScheduleIn)
@blp.response(200, ScheduleOut)
def put_schedule(data, year):
    checked_path(year=year)
    return reminders.set_schedule(service(), current_principal(), year, data["dates"])


@password_links_blp.post("/password-reset")
@password_links_blp.arguments(ResetIn)
@password_links_blp.response(202, Accepted)
def password_reset(data):
    """Same answer whether the login exists or not; the link goes to its mailbox."""
    passwords.request_reset(service(), data["login"].strip(), client_address(service().settings.secret_key),
                            datetime.now(timezone.utc))
    return {"status": "accepted"}
