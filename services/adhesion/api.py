"""``/api/adhesion``: cooperatives, rates and the adhesion workflow of SPEC §2."""
from datetime import date, datetime, timezone

from flask_smorest import Blueprint
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.adhesion import domain, events
from services.adhesion.models import Account, Adhesion, AdhesionClass, Cooperative, RateCard
from services.adhesion.registration import allocate_code, code_in_use, next_reminder_round
from services.adhesion.schemas import (
    AdhesionFilter,
    AdhesionIn,
    AdhesionList,
    AdhesionOut,
    ChecklistIn,
    CooperativeIn,
    CooperativeList,
    CooperativeOut,
    CorrectionIn,
    RatesSchema,
    RemindersOut,
    ValidateIn,
)
from services.adhesion.views import (
    adhesion_answer,
    computed,
    cooperative_data,
    find_adhesion,
    new_draft,
    rates_of,
)
from shared.auth import Principal, current_principal, ensure_access, hash_password, login_required, staff_required
from shared.errors import ApiError, checked_path
from shared.service import after_commit_publish, service

blp = Blueprint("adhesion", __name__, url_prefix="/api/adhesion", description="Adhésions et assurances")


def today() -> date:
    return date.today()


def cooperative_for(session: Session, principal: Principal, number: str) -> Cooperative:
    if not principal.is_staff and principal.cooperative != number:
        raise ApiError(403, "Vous n'avez accès qu'à votre coopérative.")
    cooperative = session.get(Cooperative, number)
    if cooperative is None:
        raise ApiError(404, f"Coopérative {number} inconnue.")
    ensure_access(principal, cooperative.number, cooperative.department)
    return cooperative


def rate_card(session: Session, department: str, year: str) -> RateCard:
    card = session.scalars(select(RateCard).where(RateCard.department == department, RateCard.year == year)).first()
    if card is None:
        raise ApiError(404, f"Les tarifs {year} ne sont pas encore fixés.")
    return card


# --- cooperatives -------------------------------------------------------------------------


@blp.post("/cooperatives")
@staff_required
@blp.arguments(CooperativeIn)
@blp.response(201, CooperativeOut)
def create_cooperative(data):
    principal = current_principal()
    try:
        with service().database.session() as session:
            if session.get(Cooperative, data["number"]) or session.get(Account, data["number"]):
                raise ApiError(409, f"La coopérative {data['number']} existe déjà.", {"number": ["Déjà utilisé."]})
            cooperative = Cooperative(
                number=data["number"], name=data["name"].strip(), town=data["town"].strip(),
                email=data["email"], department=principal.department,
            )
            session.add(cooperative)
            session.flush()
            session.add(Account(
                login=data["number"], password_hash=hash_password(data["password"]), role="school",
                department=principal.department, cooperative=data["number"],
            ))
    except IntegrityError:  # created by a concurrent request
        raise ApiError(409, f"La coopérative {data['number']} existe déjà.", {"number": ["Déjà utilisé."]})
    return cooperative_data(cooperative)


@blp.get("/cooperatives")
@staff_required
@blp.response(200, CooperativeList)
def list_cooperatives():
    with service().database.session() as session:
        rows = session.scalars(
            select(Cooperative).where(Cooperative.department == current_principal().department).order_by(Cooperative.number)
        ).all()
        return {"items": [cooperative_data(row) for row in rows]}


@blp.get("/cooperatives/<number>")
@login_required
@blp.response(200, CooperativeOut)
def get_cooperative(number):
    checked_path(number=number)
    with service().database.session() as session:
        return cooperative_data(cooperative_for(session, current_principal(), number))


# --- rates --------------------------------------------------------------------------------


@blp.get("/rates/<year>")
@login_required
@blp.response(200, RatesSchema)
def get_rates(year):
    checked_path(year=year)
    with service().database.session() as session:
        card = rate_card(session, current_principal().department, year)
        return card


@blp.put("/rates/<year>")
@staff_required
@blp.arguments(RatesSchema)
@blp.response(200, RatesSchema)
def put_rates(data, year):
    checked_path(year=year)
    department = current_principal().department
    with service().database.session() as session:
        card = session.scalars(select(RateCard).where(RateCard.department == department, RateCard.year == year)).first()
        if card is None:
            card = RateCard(department=department, year=year)
            session.add(card)
        for name, value in data.items():
            setattr(card, name, value)
    return card


# --- adhesions ----------------------------------------------------------------------------


@blp.get("/adhesions")
@staff_required
@blp.arguments(AdhesionFilter, location="query")
@blp.response(200, AdhesionList)
def list_adhesions(filters):
    department = current_principal().department
    with service().database.session() as session:
        query = select(Adhesion, Cooperative).join(Cooperative, Cooperative.number == Adhesion.cooperative).where(
            Adhesion.department == department
        )
        if "year" in filters:
            query = query.where(Adhesion.year == filters["year"])
        if "late" in filters:
            query = query.where(Adhesion.late.is_(filters["late"]))
        cards = {c.year: rates_of(c) for c in session.scalars(select(RateCard).where(RateCard.department == department))}
        items, counts = [], {status: 0 for status in domain.STATUSES}
        for adhesion, cooperative in session.execute(query.order_by(Adhesion.year.desc(), Adhesion.cooperative)):
            answer = adhesion_answer(adhesion, cooperative, cards[adhesion.year])
            if "unpaid" in filters and filters["unpaid"] == answer["checklist"]["payment_received"]:
                continue
            counts[adhesion.status] += 1
            if "status" in filters and adhesion.status != filters["status"]:
                continue
            items.append(answer)
        return {"items": items, "counts": counts}


@blp.get("/adhesions/<number>/<year>")
@login_required
@blp.response(200, AdhesionOut)
def get_adhesion(number, year):
    checked_path(number, year)
    with service().database.session() as session:
        cooperative = cooperative_for(session, current_principal(), number)
        rates = rates_of(rate_card(session, cooperative.department, year))
        adhesion = find_adhesion(session, number, year) or new_draft(session, cooperative, year)
        answer = adhesion_answer(adhesion, cooperative, rates)
        session.expunge_all()  # a draft shown is not a draft saved
        return answer


@blp.put("/adhesions/<number>/<year>")
@login_required
@blp.arguments(AdhesionIn)
@blp.response(200, AdhesionOut)
def put_adhesion(data, number, year):
    checked_path(number, year)
    with service().database.session() as session:
        cooperative = cooperative_for(session, current_principal(), number)
        rates = rates_of(rate_card(session, cooperative.department, year))
        adhesion = find_adhesion(session, number, year, lock=True)
        if adhesion is None:
            adhesion = new_draft(session, cooperative, year)
            session.add(adhesion)
        if adhesion.status not in domain.EDITABLE:
            raise ApiError(409, "L'adhésion est validée : elle ne peut plus être modifiée.", {"status": [adhesion.status]})
        due_before = computed(adhesion, rates)[1].total if adhesion.status == domain.SUBMITTED else None
        adhesion.classes = [
            AdhesionClass(
                position=i, name=row["name"].strip(), teachers=row["teachers"].strip(),
                teacher_count=row["teacher_count"], student_count=row["student_count"],
            )
            for i, row in enumerate(data["classes"])
        ]
        adhesion.insurance = data["insurance"]
        adhesion.goods_value = data["goods_value"]
        adhesion.instruments_value = data["instruments_value"]
        adhesion.pay_transfer = data["payment"]["transfer"]
        adhesion.pay_cheque = data["payment"]["cheque"]
        adhesion.pay_other = data["payment"]["other"]
        touch(adhesion)
        session.flush()
        if due_before is not None and computed(adhesion, rates)[1].total != due_before:
            events.submitted(session, adhesion, cooperative, rates)  # the amount due changed
        answer = adhesion_answer(adhesion, cooperative, rates)
    after_commit_publish()
    return answer


@blp.post("/adhesions/<number>/<year>/submit")
@login_required
@blp.response(200, AdhesionOut)
def submit(number, year):
    checked_path(number, year)
    principal = current_principal()
    if principal.is_staff:
        raise ApiError(403, "Seule l'école envoie son adhésion.")
    with service().database.session() as session:
        cooperative = cooperative_for(session, principal, number)
        card = rate_card(session, cooperative.department, year)
        rates = rates_of(card)
        adhesion = find_adhesion(session, number, year, lock=True)
        if adhesion is None:
            raise ApiError(422, "Enregistrez d'abord le tableau des classes.", {"classes": ["Ajoutez au moins une classe."]})
        if adhesion.status == domain.VALIDATED:
            raise ApiError(409, "L'adhésion est déjà validée.", {"status": [adhesion.status]})
        if adhesion.status != domain.SUBMITTED:
            payment = {"transfer": adhesion.pay_transfer, "cheque": adhesion.pay_cheque, "other": adhesion.pay_other}
            problems = domain.submission_problems(
                __import__("services.adhesion.views", fromlist=["classes_of"]).classes_of(adhesion), payment
            )
            if problems:
                raise ApiError(422, "L'adhésion n'est pas complète.", problems)
            adhesion.status = domain.SUBMITTED
            adhesion.late = domain.is_late(rates, today())
            adhesion.submitted_at = datetime.now(timezone.utc)
            touch(adhesion)
            session.flush()
            events.submitted(session, adhesion, cooperative, rates)
        answer = adhesion_answer(adhesion, cooperative, rates)
    after_commit_publish()
    return answer


@blp.post("/adhesions/<number>/<year>/request-correction")
@staff_required
@blp.arguments(CorrectionIn)
@blp.response(200, AdhesionOut)
def request_correction(data, number, year):
    checked_path(number, year)
    with service().database.session() as session:
        cooperative, adhesion, rates = staff_target(session, number, year)
        if adhesion.status != domain.SUBMITTED:
            raise ApiError(409, "Seule une adhésion saisie peut être renvoyée pour correction.", {"status": [adhesion.status]})
        adhesion.status = domain.CORRECTION_REQUESTED
        adhesion.correction_message = data["message"].strip()
        touch(adhesion)
        events.correction_requested(session, adhesion, cooperative)
        answer = adhesion_answer(adhesion, cooperative, rates)
    after_commit_publish()
    return answer


@blp.patch("/adhesions/<number>/<year>/checklist")
@staff_required
@blp.arguments(ChecklistIn)
@blp.response(200, AdhesionOut)
def update_checklist(data, number, year):
    checked_path(number, year)
    if not data:
        raise ApiError(422, "Rien à modifier.", {"engagement_signed": ["Indiquez engagement_signed ou change_form."]})
    with service().database.session() as session:
        cooperative, adhesion, rates = staff_target(session, number, year)
        for name, value in data.items():
            setattr(adhesion, name, value)
        touch(adhesion)
        return adhesion_answer(adhesion, cooperative, rates)


@blp.post("/adhesions/<number>/<year>/validate")
@staff_required
@blp.arguments(ValidateIn)
@blp.response(200, AdhesionOut)
def validate(data, number, year):
    checked_path(number, year)
    try:
        with service().database.session() as session:
            cooperative, adhesion, rates = staff_target(session, number, year)
            if adhesion.status == domain.VALIDATED:
                return adhesion_answer(adhesion, cooperative, rates)
            _, amounts = computed(adhesion, rates)
            unmet = domain.validation_unmet(
                adhesion.status, adhesion.amount_paid, amounts.total, adhesion.engagement_signed, adhesion.change_form
            )
            if unmet:
                raise ApiError(409, "Des conditions de validation ne sont pas remplies.", unmet=unmet)
            code = data.get("registration_code")
            if code and code != adhesion.registration_code:
                if not domain.registration_code_matches_year(code, year):
                    raise ApiError(422, "Le code ne correspond pas à l'année.", {"registration_code": [f"Attendu {year[-2:]}/NNNN A."]})
                if code_in_use(session, adhesion.department, code):
                    raise ApiError(409, f"Le code {code} est déjà attribué.", {"registration_code": ["Déjà attribué."]})
                adhesion.registration_code = code
            elif not adhesion.registration_code:
                adhesion.registration_code = allocate_code(session, adhesion.department, year)
            adhesion.status = domain.VALIDATED
            adhesion.validation_count += 1
            adhesion.validated_at = datetime.now(timezone.utc)
            touch(adhesion)
            session.flush()
            events.validated(session, adhesion, cooperative, rates)
            answer = adhesion_answer(adhesion, cooperative, rates)
    except IntegrityError:  # the chosen code was taken by a concurrent validation
        raise ApiError(409, "Ce code vient d'être attribué à une autre adhésion.", {"registration_code": ["Déjà attribué."]})
    after_commit_publish()
    return answer


@blp.post("/adhesions/<number>/<year>/reopen")
@staff_required
@blp.response(200, AdhesionOut)
def reopen(number, year):
    checked_path(number, year)
    with service().database.session() as session:
        cooperative, adhesion, rates = staff_target(session, number, year)
        if adhesion.status != domain.VALIDATED:
            raise ApiError(409, "Seule une adhésion validée peut être rouverte.", {"status": [adhesion.status]})
        adhesion.status = domain.SUBMITTED
        touch(adhesion)
        return adhesion_answer(adhesion, cooperative, rates)


@blp.post("/reminders/<year>")
@staff_required
@blp.response(200, RemindersOut)
def send_reminders(year):
    """One ``adhesion.reminder_due`` per cooperative of the department not renewed for
    ``year`` (no adhesion, or a draft never sent), all under a new reminder round."""
    checked_path(year=year)
    department = current_principal().department
    with service().database.session() as session:
        rate_card(session, department, year)
        round_ = next_reminder_round(session, department, year)  # row lock: concurrent calls queue here
        renewed = select(Adhesion.cooperative).where(Adhesion.year == year, Adhesion.status != domain.DRAFT)
        cooperatives = session.scalars(
            select(Cooperative)
            .where(Cooperative.department == department, Cooperative.number.not_in(renewed))
            .order_by(Cooperative.number)
        ).all()
        for cooperative in cooperatives:
            events.reminder_due(session, cooperative, year, round_)
        reminded = [cooperative.number for cooperative in cooperatives]
    after_commit_publish()
    return {"round": round_, "reminded": reminded, "count": len(reminded)}


def staff_target(session: Session, number: str, year: str):
    cooperative = cooperative_for(session, current_principal(), number)
    rates = rates_of(rate_card(session, cooperative.department, year))
    adhesion = find_adhesion(session, number, year, lock=True)
    if adhesion is None:
        raise ApiError(404, "Aucune adhésion saisie pour cette année.")
    return cooperative, adhesion, rates


def touch(adhesion: Adhesion) -> None:
    adhesion.revision = (adhesion.revision or 0) + 1
    adhesion.updated_at = datetime.now(timezone.utc)
