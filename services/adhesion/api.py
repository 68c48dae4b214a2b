"""``/api/adhesion``: cooperatives, rates and the adhesion workflow
(docs/product.md#6-statuses). Each route parses, calls a use case and answers."""
from datetime import date

from flask_smorest import Blueprint

from services.adhesion import onboarding, reminders
from services.adhesion import personal_data as personal
from services.adhesion import service as use_cases
from services.adhesion.schemas import (
    AdhesionFilter,
    AdhesionIn,
    AdhesionList,
    AdhesionOut,
    ChecklistIn,
    CooperativeIn,
    CooperativeOut,
    CooperativePage,
    CooperativeQuery,
    CorrectionIn,
    ErasedOut,
    PersonalDataExport,
    QuoteIn,
    QuoteOut,
    RateProposalSchema,
    RatesSchema,
    ReminderReachOut,
    RemindersOut,
    ValidateIn,
)
from shared import schoolyear
from shared.auth import current_principal, login_required, staff_required
from shared.errors import checked_path
from shared.openapi import link, links
from shared.service import service

blp = Blueprint("adhesion", __name__, url_prefix="/api/adhesion", description="Adhésions et assurances")


def today() -> date:
    return date.today()


@blp.post("/cooperatives")
@staff_required
@blp.arguments(CooperativeIn)
@blp.response(201, CooperativeOut)
@blp.doc(**links(
    201, ReadThisCooperative=link("get", "/api/adhesion/cooperatives/{number}", "La coopérative", number="$response.body#/number"),
    ReadThisCooperativesDetail=link("get", "/api/adhesion/cooperatives/{number}/detail", "La fiche de la coopérative et son accès", number="$response.body#/number"),
    AmendThisCooperative=link("patch", "/api/adhesion/cooperatives/{number}", "Corriger la coopérative", number="$response.body#/number"),
    SendThisCooperativeAPasswordLink=link("post", "/api/adhesion/cooperatives/{number}/password-reset", "Envoyer un lien de mot de passe", number="$response.body#/number"),
    FillInThisCooperativesAdhesion=link("put", "/api/adhesion/adhesions/{number}/{year}",
                                        "Saisir son adhésion d'une année", number="$response.body#/number"),
    ReadThisCooperativesAdhesion=link("get", "/api/adhesion/adhesions/{number}/{year}",
                                      "Son adhésion d'une année", number="$response.body#/number")))
def create_cooperative(data):
    return use_cases.create_cooperative(service(), current_principal(), data)


@blp.get("/cooperatives")
@staff_required
@blp.arguments(CooperativeQuery, location="query")
@blp.response(200, CooperativePage)
def list_cooperatives(query):
    """Searched by number, name or town; ``?page=`` for pages of 50 (all without it)."""
    return onboarding.search_cooperatives(service(), current_principal(), query, schoolyear.of(today()))


@blp.get("/cooperatives/<number>")
@login_required
@blp.response(200, CooperativeOut)
def get_cooperative(number):
    checked_path(number=number)
    return use_cases.get_cooperative(service(), current_principal(), number)


@blp.get("/rates/<year>")
@login_required
@blp.response(200, RatesSchema)
def get_rates(year):
    checked_path(year=year)
    return use_cases.get_rates(service(), current_principal(), year)


@blp.get("/rates/<year>/proposal")
@staff_required
@blp.response(200, RateProposalSchema)
def propose_rates(year):
    """The rates to start the year from: its own, or last year's carried over a year later."""
    checked_path(year=year)
    return use_cases.propose_rates(service(), current_principal(), year)


@blp.put("/rates/<year>")
@staff_required
@blp.arguments(RatesSchema)
@blp.response(200, RatesSchema)
def put_rates(data, year):
    checked_path(year=year)
    return use_cases.set_rates(service(), current_principal(), year, data)


@blp.post("/quote")
@login_required
@blp.arguments(QuoteIn)
@blp.response(200, QuoteOut)
def quote(data):
    """What figures typed in the form come to, with the cooperative's rates for the year
    (each line half-up to the cent, as a save computes them). Nothing is saved; counts and
    declared values may be sent as the text typed, and text that is no figure counts as 0
    and is named in ``ignored``."""
    return use_cases.quote(service(), current_principal(), data)


@blp.get("/adhesions")
@staff_required
@blp.arguments(AdhesionFilter, location="query")
@blp.response(200, AdhesionList)
def list_adhesions(filters):
    return use_cases.list_adhesions(service(), current_principal(), filters)


@blp.get("/adhesions/<number>/<year>")
@login_required
@blp.response(200, AdhesionOut)
def get_adhesion(number, year):
    checked_path(number, year)
    return use_cases.show_adhesion(service(), current_principal(), number, year)


@blp.put("/adhesions/<number>/<year>")
@login_required
@blp.arguments(AdhesionIn)
@blp.response(200, AdhesionOut)
@blp.doc(**links(200, ReadThisAdhesion=link("get", "/api/adhesion/adhesions/{number}/{year}", "L'adhésion enregistrée", number="$request.path.number", year="$request.path.year"),
                 SubmitThisAdhesion=link("post", "/api/adhesion/adhesions/{number}/{year}/submit", "Transmettre l'adhésion", number="$request.path.number", year="$request.path.year")))
def put_adhesion(data, number, year):
    checked_path(number, year)
    return use_cases.save_adhesion(service(), current_principal(), number, year, data)


@blp.post("/adhesions/<number>/<year>/submit")
@login_required
@blp.response(200, AdhesionOut)
def submit(number, year):
    checked_path(number, year)
    return use_cases.submit(service(), current_principal(), number, year, today())


@blp.post("/adhesions/<number>/<year>/request-correction")
@staff_required
@blp.arguments(CorrectionIn)
@blp.response(200, AdhesionOut)
def request_correction(data, number, year):
    checked_path(number, year)
    return use_cases.request_correction(service(), current_principal(), number, year, data["message"])


@blp.patch("/adhesions/<number>/<year>/checklist")
@staff_required
@blp.arguments(ChecklistIn)
@blp.response(200, AdhesionOut)
def update_checklist(data, number, year):
    checked_path(number, year)
    return use_cases.update_checklist(service(), current_principal(), number, year, data)


@blp.post("/adhesions/<number>/<year>/validate")
@staff_required
@blp.arguments(ValidateIn)
@blp.response(200, AdhesionOut)
def validate(data, number, year):
    checked_path(number, year)
    return use_cases.validate(service(), current_principal(), number, year, data.get("registration_code"))


@blp.post("/adhesions/<number>/<year>/reopen")
@staff_required
@blp.response(200, AdhesionOut)
def reopen(number, year):
    checked_path(number, year)
    return use_cases.reopen(service(), current_principal(), number, year)


@blp.get("/reminders/<year>")
@staff_required
@blp.response(200, ReminderReachOut)
def reminder_reach(year):
    checked_path(year=year)
    return reminders.reminder_reach(service(), current_principal(), year)


@blp.post("/reminders/<year>")
@staff_required
@blp.response(200, RemindersOut)
def send_reminders(year):
    checked_path(year=year)
    return reminders.send_reminders(service(), current_principal(), year)


@blp.get("/cooperatives/<number>/personal-data")
@login_required
@blp.response(200, PersonalDataExport)
def personal_data(number):
    """Everything every service keeps about the cooperative's people, in one document (the
    school itself, its department's staff, the national admin)."""
    checked_path(number)
    return personal.export(service(), current_principal(), number)


@blp.post("/cooperatives/<number>/erase")
@staff_required
@blp.response(200, ErasedOut)
def erase(number):
    """Names and mailboxes become « anonymisé » in every service; amounts, codes and
    accounting stay; the login stops working (national admin only)."""
    checked_path(number)
    return personal.erase(service(), current_principal(), number)
