"""Direct debit use cases (docs/sepa.md): the department as creditor, its collection
dates, the cooperatives' mandates, and the planning of collections (each pre-notified
once per amount). Batches and their bank file are in ``sepa_batches.py``; what a bank
statement says of them in ``sepa_bank.py``."""
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from banking import sepa as checks
from contracts import payment as contracts
from services.payment import domain, sepa_rules
from services.payment.models import Batch, Collection, CollectionDate, Creditor, Due, Mandate, OutboxEvent, Payment
from services.payment.service import ensure_department
from shared import outbox, schoolyear
from shared.auth import Principal, ensure_own_cooperative
from shared.errors import Conflict, Forbidden, Invalid, NotFound
from shared.money import money_text
from shared.service import ServiceContext

ADDRESS_PARTS = ("street", "postcode", "town", "country")


def _checked(call, *args):
    try:
        return call(*args)
    except checks.SepaError as error:
        raise Invalid(error.message, {error.field: [error.message]})


# -- creditor -----------------------------------------------------------------------------

def creditor_answer(creditor: Creditor) -> dict:
    return {"department": creditor.department, "name": creditor.name, "ics": creditor.ics, "iban": creditor.iban,
            "bic": creditor.bic, "address": {part: getattr(creditor, part) for part in ADDRESS_PARTS},
            "updated_by": creditor.updated_by, "updated_at": creditor.updated_at}


def get_creditor(ctx: ServiceContext, principal: Principal) -> dict:
    with ctx.database.session() as session:
        creditor = session.get(Creditor, principal.department)
        if creditor is None:
            raise NotFound("Le département n'a pas encore de paramètres de créancier SEPA.")
        return creditor_answer(creditor)


def direct_debit_offer(ctx: ServiceContext, principal: Principal) -> dict:
    """Whether the caller's department collects by direct debit (a school may ask)."""
    with ctx.database.session() as session:
        creditor = session.get(Creditor, principal.department)
        return {"offered": creditor is not None, "creditor_name": creditor.name if creditor else "",
                "ics": creditor.ics if creditor else ""}


def set_creditor(ctx: ServiceContext, principal: Principal, data: dict) -> dict:
    """Record the department's creditor identity; a bad ICS, IBAN or BIC is refused naming it."""
    _named(data["name"], "name")
    ics = _checked(checks.check_ics, data["ics"])
    iban = _checked(checks.check_iban, data["iban"])
    bic = _checked(checks.check_bic, data.get("bic") or "")
    with ctx.database.session() as session:
        creditor = session.get(Creditor, principal.department, with_for_update=True)
        before = _creditor_fields(creditor) if creditor is not None else {}
        if creditor is None:
            creditor = Creditor(department=principal.department)
            session.add(creditor)
        creditor.name, creditor.ics, creditor.iban, creditor.bic = data["name"], ics, iban, bic
        for part in ADDRESS_PARTS:
            setattr(creditor, part, data["address"][part])
        after = _creditor_fields(creditor)
        ctx.audit(session, "sepa.creditor_set", f"departement:{principal.department}", {
            "created": not before, "ics": {"before": before.get("ics"), "after": ics},
            "fields": sorted(field for field in after if before.get(field) != after[field])})
        creditor.updated_by, creditor.updated_at = principal.login, datetime.now(timezone.utc)
        session.flush()
        plan(session, principal.department, ctx.settings.sepa_notice_days)
        outbox.record(session, OutboxEvent, contracts.CREDITOR_CHANGED,
                      {"department": principal.department, "direct_debit": True})
        answer = creditor_answer(creditor)
    ctx.publish()
    return answer


def _creditor_fields(creditor: Creditor) -> dict:
    return {field: getattr(creditor, field) for field in ("name", "ics", "iban", "bic", *ADDRESS_PARTS)}


# -- collection dates ---------------------------------------------------------------------

def get_dates(ctx: ServiceContext, principal: Principal, year: str) -> dict:
    with ctx.database.session() as session:
        return {"year": year, "dates": _dates(session, principal.department, year)}


def _dates(session: Session, department: str, year: str | None = None) -> list[date]:
    query = select(CollectionDate.day).where(CollectionDate.department == department)
    if year is not None:
        query = query.where(CollectionDate.year == year)
    return sorted(session.scalars(query))


def set_dates(ctx: ServiceContext, principal: Principal, year: str, days: list[date]) -> dict:
    """Replace the year's collection dates; a date whose batch exists stays. A year's dues
    may be collected from the spring before to the end of the following school year (late
    payers), not beyond."""
    first, last = schoolyear.first_day(year) - timedelta(days=183), schoolyear.last_day(schoolyear.following(year))
    outside = [d.isoformat() for d in days if not first <= d <= last]
    if outside:
        raise Invalid("Une date de prélèvement est trop éloignée de l'année scolaire.",
                      {"dates": [f"Entre le {first:%d/%m/%Y} et le {last:%d/%m/%Y} pour {year} : {', '.join(outside)}."]})
    with ctx.database.session() as session:
        _lock_department(session, principal.department)
        batched = set(session.scalars(select(Batch.collection_date).where(Batch.department == principal.department)))
        stored = {row.day: row for row in session.scalars(select(CollectionDate).where(
            CollectionDate.department == principal.department, CollectionDate.year == year))}
        for day, row in stored.items():
            if day not in days and day not in batched:
                session.delete(row)
        for day in set(days) - set(stored):
            session.add(CollectionDate(department=principal.department, year=year, day=day))
        session.flush()
        plan(session, principal.department, ctx.settings.sepa_notice_days)
        answer = {"year": year, "dates": _dates(session, principal.department, year)}
        ctx.audit(session, "sepa.dates_set", f"departement:{principal.department}",
                  {"year": year, "dates": {"before": sorted(stored), "after": answer["dates"]}})
    ctx.publish()
    return answer


def _lock_department(session: Session, department: str) -> Creditor | None:
    """Planning of one department runs one at a time: its creditor row is the lock."""
    return session.scalars(select(Creditor).where(Creditor.department == department).with_for_update()).first()


# -- mandates -----------------------------------------------------------------------------

def mandate_answer(mandate: Mandate) -> dict:
    return {"rum": mandate.rum, "cooperative": mandate.cooperative, "department": mandate.department,
            "status": mandate.status, "status_text": sepa_rules.MANDATE_STATUS_TEXT[mandate.status],
            "debtor_name": mandate.debtor_name, "iban": mandate.iban, "bic": mandate.bic,
            "address": {part: getattr(mandate, part) for part in ADDRESS_PARTS}, "signed_on": mandate.signed_on,
            "amendment": bool(mandate.original_iban), "last_collected_on": mandate.last_collected_on,
            "created_at": mandate.created_at}


def _mandate(session: Session, principal: Principal, rum: str, lock: bool = False) -> Mandate:
    query = select(Mandate).where(Mandate.rum == rum)
    mandate = session.scalars(query.with_for_update() if lock else query).first()
    if mandate is None:
        raise NotFound("Mandat inconnu.")
    ensure_own_cooperative(principal, mandate.cooperative)
    ensure_department(principal, mandate.department)
    return mandate


def _department_of(session: Session, principal: Principal, cooperative: str) -> str:
    """The cooperative's department as its adhesion events told; a school's own, or the staff's."""
    ensure_own_cooperative(principal, cooperative)
    known = session.scalar(select(Due.department).where(Due.cooperative == cooperative).limit(1))
    if known is not None and known != principal.department:
        raise Forbidden("Cette coopérative relève d'un autre département.")
    return principal.department


def _named(name: str, field: str = "debtor_name") -> None:
    """A name the bank file can carry: something left once written in EPC's Latin set."""
    if not checks.sepa_text(name, 70):
        raise Invalid("Nom illisible pour la banque : lettres latines et chiffres attendus.",
                      {field: ["Lettres latines et chiffres attendus."]})


def create_mandate(ctx: ServiceContext, principal: Principal, data: dict) -> dict:
    """A pending mandate with its RUM; 409 while the cooperative has a pending or active one."""
    _named(data["debtor_name"])
    iban = _checked(checks.check_iban, data["iban"])
    bic = _checked(checks.check_bic, data.get("bic") or "")
    with ctx.database.session() as session:
        department = _department_of(session, principal, data["cooperative"])
        if session.get(Creditor, department) is None:
            raise Conflict("Le département ne prélève pas : aucun créancier SEPA n'est paramétré.")
        _lock_department(session, department)
        mandates = list(session.scalars(select(Mandate).where(Mandate.cooperative == data["cooperative"])))
        current = [m for m in mandates if m.status in (sepa_rules.PENDING, sepa_rules.ACTIVE)]
        if current:
            raise Conflict(f"La coopérative a déjà un mandat {current[0].rum} "
                           f"({sepa_rules.MANDATE_STATUS_TEXT[current[0].status].lower()}).")
        mandate = Mandate(
            rum=checks.make_rum(department, data["cooperative"], len(mandates) + 1), department=department,
            cooperative=data["cooperative"], status=sepa_rules.PENDING, debtor_name=data["debtor_name"], iban=iban,
            bic=bic, signed_on=None, original_iban="", created_by=principal.login,
            created_at=datetime.now(timezone.utc), **{part: data["address"][part] for part in ADDRESS_PARTS})
        session.add(mandate)
        session.flush()
        ctx.audit(session, "sepa.mandate_created", mandate.cooperative,
                  {"rum": mandate.rum, "status": mandate.status}, department=department)
        return mandate_answer(mandate)


def own_mandate(ctx: ServiceContext, principal: Principal) -> dict:
    """The school's mandate in force (pending or active), else its latest; 404 without one."""
    if principal.is_staff or not principal.cooperative:
        raise Forbidden("Réservé à l'école : le personnel consulte la liste des mandats.")
    with ctx.database.session() as session:
        mandates = list(session.scalars(select(Mandate).where(Mandate.cooperative == principal.cooperative)
                                        .order_by(Mandate.id.desc())))
        current = [m for m in mandates if m.status in (sepa_rules.PENDING, sepa_rules.ACTIVE)]
        if not mandates:
            raise NotFound("Aucun mandat de prélèvement pour votre coopérative.")
        return mandate_answer((current or mandates)[0])


def get_mandate(ctx: ServiceContext, principal: Principal, rum: str) -> dict:
    with ctx.database.session() as session:
        return mandate_answer(_mandate(session, principal, rum))


def list_mandates(ctx: ServiceContext, principal: Principal, cooperative: str | None = None) -> list[dict]:
    with ctx.database.session() as session:
        query = select(Mandate).where(Mandate.department == principal.department)
        if cooperative:
            _department_of(session, principal, cooperative)
            query = query.where(Mandate.cooperative == cooperative)
        return [mandate_answer(m) for m in session.scalars(query.order_by(Mandate.cooperative, Mandate.id))]


def activate_mandate(ctx: ServiceContext, principal: Principal, rum: str, signed_on: date) -> dict:
    """Staff record the signature date of the paper mandate: the mandate is ``active``."""
    if signed_on > date.today():
        raise Invalid("La date de signature ne peut pas être dans le futur.",
                      {"signed_on": ["La date de signature ne peut pas être dans le futur."]})
    with ctx.database.session() as session:
        mandate = _mandate(session, principal, rum, lock=True)
        if mandate.status != sepa_rules.PENDING:
            raise Conflict(f"Seul un mandat en attente de signature s'active (celui-ci : "
                           f"{sepa_rules.MANDATE_STATUS_TEXT[mandate.status].lower()}).")
        mandate.status, mandate.signed_on = sepa_rules.ACTIVE, signed_on
        ctx.audit(session, "sepa.mandate_activated", mandate.cooperative, {
            "rum": rum, "signed_on": signed_on, "status": {"before": sepa_rules.PENDING, "after": sepa_rules.ACTIVE}},
            department=mandate.department)
        session.flush()
        plan(session, mandate.department, ctx.settings.sepa_notice_days)
        answer = mandate_answer(mandate)
    ctx.publish()
    return answer


def amend_mandate(ctx: ServiceContext, principal: Principal, rum: str, data: dict) -> dict:
    """A new IBAN (or name, address) keeps the RUM; the first IBAN replaced is carried by
    the next collection as an amendment (``AmdmntInd``)."""
    if data.get("debtor_name"):
        _named(data["debtor_name"])
    iban = _checked(checks.check_iban, data["iban"])
    bic = _checked(checks.check_bic, data.get("bic") or "")
    with ctx.database.session() as session:
        mandate = _mandate(session, principal, rum, lock=True)
        if mandate.status not in (sepa_rules.PENDING, sepa_rules.ACTIVE):
            raise Conflict("Un mandat révoqué ou expiré ne se modifie plus : créez-en un nouveau.")
        new_address = data.get("address") and {part: data["address"][part] for part in ADDRESS_PARTS}
        changed = [field for field, differs in (
            ("account", iban != mandate.iban), ("bic", bic != mandate.bic),
            ("debtor", bool(data.get("debtor_name")) and data["debtor_name"] != mandate.debtor_name),
            ("address", bool(new_address) and any(new_address[p] != getattr(mandate, p) for p in ADDRESS_PARTS)))
            if differs]
        if iban != mandate.iban and mandate.status == sepa_rules.ACTIVE and not mandate.original_iban \
                and mandate.last_collected_on is not None:
            mandate.original_iban = mandate.iban
        # which parts changed, never their values (a bank account, a person's name)
        ctx.audit(session, "sepa.mandate_amended", mandate.cooperative, {
            "rum": rum, "changed": changed, "amendment": bool(mandate.original_iban)}, department=mandate.department)
        mandate.iban, mandate.bic = iban, bic
        mandate.debtor_name = data.get("debtor_name") or mandate.debtor_name
        if data.get("address"):
            for part in ADDRESS_PARTS:
                setattr(mandate, part, data["address"][part])
        return mandate_answer(mandate)


def revoke_mandate(ctx: ServiceContext, principal: Principal, rum: str) -> dict:
    """Staff revoke a mandate: its collections not yet sent to the bank are withdrawn."""
    with ctx.database.session() as session:
        mandate = _mandate(session, principal, rum, lock=True)
        if mandate.status in (sepa_rules.REVOKED, sepa_rules.EXPIRED):
            raise Conflict("Ce mandat n'est plus en vigueur.")
        ctx.audit(session, "sepa.mandate_revoked", mandate.cooperative, {
            "rum": rum, "status": {"before": mandate.status, "after": sepa_rules.REVOKED}},
            department=mandate.department)
        _end(session, mandate, sepa_rules.REVOKED)
        return mandate_answer(mandate)


def _end(session: Session, mandate: Mandate, status: str) -> None:
    mandate.status, mandate.ended_at = status, datetime.now(timezone.utc)
    for collection in session.scalars(select(Collection).where(
            Collection.mandate_id == mandate.id, Collection.status == sepa_rules.PLANNED)):
        _withdraw(session, collection)


def expire_mandates(ctx: ServiceContext, today: date | None = None) -> int:
    """What beat runs daily: mandates unused for 36 months expire. Returns how many."""
    today = today or date.today()
    count = 0
    with ctx.database.session() as session:
        for mandate in session.scalars(select(Mandate).where(Mandate.status == sepa_rules.ACTIVE).with_for_update()):
            if sepa_rules.expired(mandate.last_collected_on or mandate.signed_on, today):
                _end(session, mandate, sepa_rules.EXPIRED)
                count += 1
    return count


# -- planning collections -----------------------------------------------------------------

def plan(session: Session, department: str, notice_days: int, today: date | None = None) -> None:
    """Bring the department's planned collections in line with its dues: a submitted
    adhesion that chose direct debit, with an active mandate and a balance, is planned on
    the first free collection date ``notice_days`` ahead and pre-notified; a planned one
    follows the adhesion's amount (notified again) until its batch is exported."""
    creditor = _lock_department(session, department)
    if creditor is None:
        return
    today = today or date.today()
    # plain rows, not objects: a department has thousands of dues; an object is loaded
    # only for what changes
    mandates = {row.cooperative: row for row in session.execute(select(Mandate.cooperative, Mandate.id, Mandate.rum)
                                                                .where(Mandate.department == department,
                                                                       Mandate.status == sepa_rules.ACTIVE))}
    exported = set(session.scalars(select(Batch.collection_date).where(
        Batch.department == department, Batch.status != sepa_rules.BUILT)))
    dates = [d for d in _dates(session, department) if d not in exported]
    collections: dict[tuple, list] = {}
    for row in session.execute(select(Collection.id, Collection.cooperative, Collection.year, Collection.status,
                                      Collection.amount, Collection.collection_date, Collection.reason_code)
                               .where(Collection.department == department).order_by(Collection.id)):
        collections.setdefault((row.cooperative, row.year), []).append(row)
    paid: dict[tuple, Decimal] = {}
    for cooperative, year, amount in session.execute(
            select(Payment.cooperative, Payment.year, Payment.amount).where(Payment.department == department)):
        paid[(cooperative, year)] = paid.get((cooperative, year), Decimal(0)) + amount
    for due_row in session.execute(select(Due.id, Due.cooperative, Due.year, Due.amount_due).where(
            Due.department == department, Due.direct_debit.is_(True))).all():
        mine = collections.get((due_row.cooperative, due_row.year), [])
        mandate = mandates.get(due_row.cooperative)
        if mandate is None or any(c.status == sepa_rules.EXPORTED for c in mine):
            continue  # no mandate to debit, or the bank has one in hand: wait for its answer
        amount = domain.balance(due_row.amount_due, paid.get((due_row.cooperative, due_row.year), Decimal(0)))
        planned_row = next((c for c in mine if c.status == sepa_rules.PLANNED), None)
        if planned_row is not None:
            if planned_row.amount == amount:
                continue
            planned = session.get(Collection, planned_row.id)
            if not sepa_rules.collectable(amount):
                _withdraw(session, planned)
            else:
                planned.amount = amount
                _refresh_batch(session, planned.batch_id)
                _notify(session, creditor, session.get(Due, due_row.id), planned)
            continue
        if not sepa_rules.collectable(amount) or not _may_present(mine):
            continue
        day = sepa_rules.collection_date_for(
            [d for d in dates if d not in {c.collection_date for c in mine}], today, notice_days)
        if day is None:
            continue
        due = session.get(Due, due_row.id)
        collection = Collection(
            cooperative=due.cooperative, year=due.year, department=department, mandate_id=mandate.id,
            rum=mandate.rum, amount=amount, collection_date=day,
            end_to_end_id=domain.payment_reference(due.cooperative, due.year), status=sepa_rules.PLANNED,
            original_iban="", reason_code="", reason="", notices=0,
            presentation=1 + sum(1 for c in mine if c.status == sepa_rules.RETURNED),
            created_at=datetime.now(timezone.utc))
        session.add(collection)
        session.flush()
        _notify(session, creditor, due, collection)


def _may_present(collections: list[Collection]) -> bool:
    """After a return, only an AM04 (« provision insuffisante ») is presented again, and once."""
    returned = [c for c in collections if c.status == sepa_rules.RETURNED]
    if not returned:
        return True
    return len(returned) == 1 and returned[0].reason_code in checks.REPRESENTABLE


def _withdraw(session: Session, collection: Collection) -> None:
    batch_id = collection.batch_id
    session.delete(collection)
    session.flush()
    _refresh_batch(session, batch_id)


def _refresh_batch(session: Session, batch_id: int | None) -> None:
    """A built batch not yet exported follows its collections' amounts."""
    if batch_id is None:
        return
    batch = session.get(Batch, batch_id)
    rows = session.execute(select(func.count(), Collection.amount).where(Collection.batch_id == batch_id)
                           .group_by(Collection.amount)).all()
    batch.count = sum(count for count, _ in rows)
    batch.total = sum((amount * count for count, amount in rows), start=domain.total_paid([]))


def cooperative_ref(due: Due) -> dict:
    return {"number": due.cooperative, "name": due.cooperative_name, "town": due.cooperative_town,
            "email": due.cooperative_email, "department": due.department}


def department_ref(due: Due) -> dict:
    return {"code": due.department, "name": due.department_name, "insurer": "", "insurer_contract": None,
            "email": due.department_email}


def collection_event(creditor: Creditor, due: Due, collection: Collection) -> dict:
    return {"cooperative": cooperative_ref(due), "department": department_ref(due), "year": due.year,
            "collection": collection.id, "sequence": sepa_rules.notice_sequence(collection.id, collection.notices),
            "rum": collection.rum, "ics": creditor.ics, "creditor_name": creditor.name,
            "amount": money_text(collection.amount), "collection_date": collection.collection_date.isoformat(),
            "end_to_end_id": collection.end_to_end_id}


def _notify(session: Session, creditor: Creditor, due: Due, collection: Collection) -> None:
    """The pre-notification: once per collection and amount (bulk lane)."""
    collection.notices += 1
    outbox.record(session, OutboxEvent, contracts.DIRECT_DEBIT_NOTIFIED, collection_event(creditor, due, collection))


def replan(ctx: ServiceContext, department: str) -> None:
    with ctx.database.session() as session:
        plan(session, department, ctx.settings.sepa_notice_days)
    ctx.publish()
