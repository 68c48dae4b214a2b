"""The adhesion service's use cases: one function per step, called by the API, the
handlers, the pages and batch jobs alike. Each takes plain data and the service context
(its database is the unit of work), applies a domain transition, writes the events the
transition causes to the outbox in the same transaction, publishes after the commit and
returns what happened."""
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.adhesion import departments, domain, events, login_names
from services.adhesion.answers import adhesion_answer, vars_of
from services.adhesion.models import Account, Adhesion, AdhesionClass, Cooperative, Department, RateCard
from services.adhesion.registration_codes import allocate_code, code_in_use
from services.adhesion.repository import ZERO, amounts_for, classes_of, find_adhesion, new_draft, rate_card, rates_of
from shared import schoolyear
from shared.auth import Principal, ensure_access, ensure_own_cooperative, hash_password
from shared.errors import Conflict, Forbidden, Invalid, Malformed, NotFound
from shared.service import ServiceContext

# --- lookups ----------------------------------------------------------------------------------


def cooperative_for(session: Session, principal: Principal, number: str) -> Cooperative:
    ensure_own_cooperative(principal, number)
    cooperative = session.get(Cooperative, number)
    if cooperative is None:
        raise NotFound(f"Coopérative {number} inconnue.")
    ensure_access(principal, cooperative.number, cooperative.department)
    return cooperative


def _target(session: Session, principal: Principal, number: str, year: str):
    """The cooperative, its adhesion (locked) and the year's rates; 404 without an adhesion."""
    cooperative = cooperative_for(session, principal, number)
    rates = rates_of(rate_card(session, cooperative.department, year))
    adhesion = find_adhesion(session, number, year, lock=True)
    if adhesion is None:
        raise NotFound("Aucune adhésion saisie pour cette année.")
    return cooperative, adhesion, rates


def _touch(adhesion: Adhesion) -> None:
    adhesion.revision = (adhesion.revision or 0) + 1
    adhesion.updated_at = datetime.now(timezone.utc)


def _emit(session: Session, transition: domain.Transition, adhesion: Adhesion, cooperative: Cooperative,
          rates: domain.Rates) -> None:
    for event in transition.events:
        if event == domain.SUBMITTED_EVENT:
            events.submitted(session, adhesion, cooperative, rates)
        elif event == domain.CORRECTION_REQUESTED_EVENT:
            events.correction_requested(session, adhesion, cooperative)
        elif event == domain.VALIDATED_EVENT:
            events.validated(session, adhesion, cooperative, rates)


# --- cooperatives and rates ---------------------------------------------------------------------


def create_cooperative(ctx: ServiceContext, principal: Principal, data: dict) -> Cooperative:
    taken = Conflict(f"La coopérative {data['number']} existe déjà.", {"number": ["Déjà utilisé."]})
    try:
        with ctx.database.session() as session:
            existing = session.get(Cooperative, data["number"]) or login_names.find(session, data["number"])
            national = departments.is_national(session, principal)
            if existing is not None and existing.department != principal.department:
                if national:  # the one who can move it is told where it is
                    raise Conflict(f"La coopérative {data['number']} existe déjà dans le département "
                                   f"{existing.department} : ouvrez sa fiche pour la déplacer.",
                                   {"number": ["Déjà utilisé dans un autre département."]},
                                   department=existing.department)
                raise Forbidden("Ce numéro relève d'un autre département.")  # not whether it exists
            if existing is not None:
                raise taken
            _check_number_department(session, principal, data["number"], national,
                                     bool(data.get("other_department")))
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
            ctx.audit(session, "cooperative.created", data["number"], {"department": principal.department})
    except IntegrityError:  # created by a concurrent request
        raise taken
    return cooperative


def _check_number_department(session: Session, principal: Principal, number: str, national: bool,
                             override: bool) -> None:
    """A number whose UAI names another department of the install is refused; the national
    administrator may confirm it (a school of one department attached to another's OCCE)."""
    names = dict(session.execute(select(Department.code, Department.name)).all())
    problem = domain.other_department_problem(number, principal.department, names)
    if problem is None or (national and override):
        return
    if national:
        problem = (f"Ce numéro commence par {domain.uai_prefix(domain.department_of_number(number, names))} : "
                   f"c'est celui d'une école d'un autre département ({domain.department_of_number(number, names)}). "
                   f"Confirmez pour la créer quand même dans le département {principal.department}.")
    raise Invalid(problem, {"number": [problem]}, other_department=domain.department_of_number(number, names),
                  may_override=national)


def list_cooperatives(ctx: ServiceContext, principal: Principal) -> list[Cooperative]:
    with ctx.database.session() as session:
        return list(session.scalars(
            select(Cooperative).where(Cooperative.department == principal.department).order_by(Cooperative.number)
        ))


def get_cooperative(ctx: ServiceContext, principal: Principal, number: str) -> Cooperative:
    with ctx.database.session() as session:
        return cooperative_for(session, principal, number)


def get_rates(ctx: ServiceContext, principal: Principal, year: str) -> RateCard:
    with ctx.database.session() as session:
        return rate_card(session, principal.department, year)


def propose_rates(ctx: ServiceContext, principal: Principal, year: str) -> dict:
    """The rates staff start a year from: the year's own when set, else last year's carried
    over (``domain.rates_carried_over``); NotFound when neither exists."""
    with ctx.database.session() as session:
        try:
            return {"carried_from": None, **_rate_values(rate_card(session, principal.department, year))}
        except NotFound:
            previous = schoolyear.previous(year)
            card = rate_card(session, principal.department, previous)
            return {"carried_from": previous, **domain.rates_carried_over(_rate_values(card))}


def _rate_values(card: RateCard) -> dict:
    return {column.key: getattr(card, column.key) for column in RateCard.__table__.columns
            if column.key not in ("id", "department", "year")}


def set_rates(ctx: ServiceContext, principal: Principal, year: str, data: dict) -> RateCard:
    """The year's rates; its renewal window lies within the year's bounds
    (``domain.renewal_bounds``), 422 naming the date otherwise."""
    try:
        problems = domain.renewal_window_problems(year, data["renewal_opens"], data["renewal_closes"])
    except ValueError:  # 0000-0001: no calendar holds its days
        raise Malformed("Année scolaire hors des limites du calendrier.", {"year": ["Année scolaire invalide."]})
    if problems:
        raise Invalid("La période de renouvellement doit tomber dans l'année scolaire.", problems)
    with ctx.database.session() as session:
        card = session.scalars(
            select(RateCard).where(RateCard.department == principal.department, RateCard.year == year)
        ).first()
        if card is None:
            card = RateCard(department=principal.department, year=year)
            session.add(card)
        ctx.audit(session, "rates.changed", f"tarifs:{year}", {n: {"before": getattr(card, n), "after": v} for n, v in data.items()})
        for name, value in data.items():
            setattr(card, name, value)
    return card


# --- the adhesion workflow ----------------------------------------------------------------------


def list_adhesions(ctx: ServiceContext, principal: Principal, filters: dict) -> dict:
    """The department's adhesions, filtered, with the count of each status."""
    with ctx.database.session() as session:
        query = select(Adhesion, Cooperative).join(Cooperative, Cooperative.number == Adhesion.cooperative).where(
            Adhesion.department == principal.department
        )
        if "year" in filters:
            query = query.where(Adhesion.year == filters["year"])
        if "late" in filters:
            query = query.where(Adhesion.late.is_(filters["late"]))
        cards = {c.year: rates_of(c) for c in session.scalars(
            select(RateCard).where(RateCard.department == principal.department))}
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


COUNTS = ("teacher_count", "student_count")
DECLARED = ("goods_value", "instruments_value")


def quote(ctx: ServiceContext, principal: Principal, data: dict) -> dict:
    """What the figures as typed come to with the rates of the cooperative's department for
    the year: the amounts a save of them would compute, nothing saved. A figure the schema
    could not read (``None``) counts as 0 and is named in ``ignored``."""
    with ctx.database.session() as session:
        cooperative = cooperative_for(session, principal, data["cooperative"])
        card = rate_card(session, cooperative.department, data["year"])
    ignored = [f"classes.{index}.{key}" for index, row in enumerate(data["classes"]) for key in COUNTS
               if row[key] is None]
    ignored += [key for key in DECLARED if data[key] is None]
    classes = [domain.ClassRow(name="", teachers="", teacher_count=row["teacher_count"] or 0,
                               student_count=row["student_count"] or 0) for row in data["classes"]]
    declared = {key: data[key] if data[key] is not None else ZERO for key in DECLARED}
    totals = domain.totals_of(classes)
    amounts = domain.amounts_of(rates_of(card), totals, data["insurance"], declared["goods_value"],
                                declared["instruments_value"])
    return {
        "cooperative": cooperative.number, "year": data["year"], "insurance": data["insurance"], **declared,
        "totals": vars_of(totals), "amounts": {**vars_of(amounts), "total": amounts.total},
        "rates": card, "ignored": ignored,
    }


def show_adhesion(ctx: ServiceContext, principal: Principal, number: str, year: str) -> dict:
    """The adhesion, or the draft it would start from (carried over, not saved)."""
    with ctx.database.session() as session:
        cooperative = cooperative_for(session, principal, number)
        rates = rates_of(rate_card(session, cooperative.department, year))
        adhesion = find_adhesion(session, number, year) or new_draft(session, cooperative, year)
        answer = adhesion_answer(adhesion, cooperative, rates)
        session.expunge_all()  # a draft shown is not a draft saved
        return answer


def save_adhesion(ctx: ServiceContext, principal: Principal, number: str, year: str, data: dict) -> dict:
    with ctx.database.session() as session:
        cooperative = cooperative_for(session, principal, number)
        rates = rates_of(rate_card(session, cooperative.department, year))
        adhesion = find_adhesion(session, number, year, lock=True)
        if adhesion is None:
            adhesion = new_draft(session, cooperative, year)
            session.add(adhesion)
        before = amounts_for(adhesion, rates).total
        domain.ensure_editable(adhesion.status)
        adhesion.classes = [
            AdhesionClass(position=i, name=row["name"].strip(), teachers=row["teachers"].strip(),
                          teacher_count=row["teacher_count"], student_count=row["student_count"])
            for i, row in enumerate(data["classes"])
        ]
        adhesion.insurance = data["insurance"]
        adhesion.goods_value = data["goods_value"]
        adhesion.instruments_value = data["instruments_value"]
        adhesion.pay_transfer = data["payment"]["transfer"]
        adhesion.pay_cheque = data["payment"]["cheque"]
        adhesion.pay_other = data["payment"]["other"]
        adhesion.pay_direct_debit = data["payment"].get("direct_debit", False)
        _touch(adhesion)
        session.flush()
        transition = domain.save(adhesion.status, before, amounts_for(adhesion, rates).total)
        ctx.audit(session, "adhesion.saved", number, {"year": year, "total": {"before": before, "after": amounts_for(adhesion, rates).total}}, department=cooperative.department)
        _emit(session, transition, adhesion, cooperative, rates)
        answer = adhesion_answer(adhesion, cooperative, rates)
    ctx.publish()
    return answer


def submit(ctx: ServiceContext, principal: Principal, number: str, year: str, today: date) -> dict:
    if principal.is_staff:
        raise Forbidden("Seule l'école envoie son adhésion.")
    with ctx.database.session() as session:
        cooperative = cooperative_for(session, principal, number)
        rates = rates_of(rate_card(session, cooperative.department, year))
        adhesion = find_adhesion(session, number, year, lock=True)
        if adhesion is None:
            raise Invalid("Enregistrez d'abord le tableau des classes.", {"classes": ["Ajoutez au moins une classe."]})
        payment = {"transfer": adhesion.pay_transfer, "cheque": adhesion.pay_cheque, "other": adhesion.pay_other,
                    "direct_debit": adhesion.pay_direct_debit}
        transition = domain.submit(adhesion.status, classes_of(adhesion), payment)
        if transition.events:
            ctx.audit(session, "adhesion.submitted", number, {"year": year, "status": {"before": adhesion.status, "after": transition.status}})
            adhesion.status = transition.status
            adhesion.late = domain.is_late(rates, today)
            adhesion.submitted_at = datetime.now(timezone.utc)
            _touch(adhesion)
            session.flush()
            _emit(session, transition, adhesion, cooperative, rates)
        answer = adhesion_answer(adhesion, cooperative, rates)
    ctx.publish()
    return answer


def request_correction(ctx: ServiceContext, principal: Principal, number: str, year: str, message: str) -> dict:
    with ctx.database.session() as session:
        cooperative, adhesion, rates = _target(session, principal, number, year)
        transition = domain.request_correction(adhesion.status)
        ctx.audit(session, "adhesion.correction_requested", number, {"year": year, "status": {"before": adhesion.status, "after": transition.status}}, department=cooperative.department)
        adhesion.status = transition.status
        adhesion.correction_message = message.strip()
        _touch(adhesion)
        _emit(session, transition, adhesion, cooperative, rates)
        answer = adhesion_answer(adhesion, cooperative, rates)
    ctx.publish()
    return answer


def update_checklist(ctx: ServiceContext, principal: Principal, number: str, year: str, data: dict) -> dict:
    if not data:
        raise Invalid("Rien à modifier.", {"engagement_signed": ["Indiquez engagement_signed ou change_form."]})
    with ctx.database.session() as session:
        cooperative, adhesion, rates = _target(session, principal, number, year)
        ctx.audit(session, "adhesion.checklist_changed", number, {"year": year, **{n: {"before": getattr(adhesion, n), "after": v} for n, v in data.items()}}, department=cooperative.department)
        for name, value in data.items():
            setattr(adhesion, name, value)
        _touch(adhesion)
        return adhesion_answer(adhesion, cooperative, rates)


def validate(ctx: ServiceContext, principal: Principal, number: str, year: str, code: str | None) -> dict:
    """Validate and assign the code d'enregistrement (staff's own, or the next one)."""
    try:
        with ctx.database.session() as session:
            cooperative, adhesion, rates = _target(session, principal, number, year)
            amount_due = amounts_for(adhesion, rates).total
            transition = domain.validate(adhesion.status, adhesion.amount_paid, amount_due,
                                         adhesion.engagement_signed, adhesion.change_form)
            if transition.events:
                adhesion.registration_code = _registration_code(session, adhesion, year, code)
                adhesion.status = transition.status
                adhesion.validation_count += 1
                adhesion.validated_at = datetime.now(timezone.utc)
                _touch(adhesion)
                session.flush()
                _emit(session, transition, adhesion, cooperative, rates)
                ctx.audit(session, "adhesion.validated", number, {"year": year, "registration_code": adhesion.registration_code, "version": adhesion.validation_count, "amount_due": amount_due, "amount_paid": adhesion.amount_paid}, department=cooperative.department)
            answer = adhesion_answer(adhesion, cooperative, rates)
    except IntegrityError:  # the chosen code was taken by a concurrent validation
        raise Conflict("Ce code vient d'être attribué à une autre adhésion.", {"registration_code": ["Déjà attribué."]})
    ctx.publish()
    return answer


def _registration_code(session: Session, adhesion: Adhesion, year: str, wanted: str | None) -> str:
    if wanted and wanted != adhesion.registration_code:
        if not domain.registration_code_matches_year(wanted, year):
            raise Invalid("Le code ne correspond pas à l'année.", {"registration_code": [f"Attendu {year[-2:]}/NNNN A."]})
        if code_in_use(session, adhesion.department, wanted):
            raise Conflict(f"Le code {wanted} est déjà attribué.", {"registration_code": ["Déjà attribué."]})
        return wanted
    return adhesion.registration_code or allocate_code(session, adhesion.department, year)


def reopen(ctx: ServiceContext, principal: Principal, number: str, year: str) -> dict:
    with ctx.database.session() as session:
        cooperative, adhesion, rates = _target(session, principal, number, year)
        ctx.audit(session, "adhesion.reopened", number, {"year": year, "status": {"before": adhesion.status, "after": domain.reopen(adhesion.status).status}}, department=cooperative.department)
        adhesion.status = domain.reopen(adhesion.status).status
        _touch(adhesion)
        return adhesion_answer(adhesion, cooperative, rates)


# --- from other services' events --------------------------------------------------------------


def record_payment_state(session: Session, cooperative: str, year: str, amount_paid: Decimal, payments_count: int,
                         methods: list[str], received_on: date | None = None) -> bool:
    """Checklist item 1 from ``payment.received``: the newest payment state wins."""
    adhesion = find_adhesion(session, cooperative, year, lock=True)
    if adhesion is None or payments_count <= adhesion.payments_seen:
        return False  # an older state arriving late changes nothing
    adhesion.amount_paid = amount_paid
    adhesion.payments_seen = payments_count
    adhesion.payment_methods = ",".join(methods)
    adhesion.paid_on = received_on
    return True


def set_direct_debit_offer(session: Session, department: str, offered: bool) -> None:
    """What the payment service told of the department's creditor settings."""
    row = session.get(Department, department)
    if row is not None:
        row.direct_debit_offered = offered
