"""Direct debit batches (docs/sepa.md#4-batches): staff build the batch of a collection
date, download its ``pain.008`` file (the batch is then exported and its collections
locked), and follow its collections; the mandate PDF."""
from datetime import date, datetime, timezone

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from banking import pain008
from services.payment import printing, sepa_rules
from services.payment.models import Batch, Collection, Creditor, Due, Mandate
from services.payment.sepa import _lock_department, _mandate, plan
from services.payment.service import ensure_department
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.money import to_cents
from shared.service import ServiceContext


def collection_answer(collection: Collection, name: str = "") -> dict:
    return {"id": collection.id, "cooperative": collection.cooperative, "name": name, "year": collection.year,
            "rum": collection.rum, "amount": collection.amount, "collection_date": collection.collection_date,
            "end_to_end_id": collection.end_to_end_id, "status": collection.status,
            "status_text": sepa_rules.COLLECTION_STATUS_TEXT[collection.status],
            "reason_code": collection.reason_code, "reason": collection.reason, "batch": collection.batch_id,
            "presentation": collection.presentation, "amendment": bool(collection.original_iban)}


def list_collections(ctx: ServiceContext, principal: Principal, day: date | None = None,
                     status: str | None = None) -> list[dict]:
    with ctx.database.session() as session:
        plan(session, principal.department, ctx.settings.sepa_notice_days)
        query = select(Collection).where(Collection.department == principal.department)
        if day is not None:
            query = query.where(Collection.collection_date == day)
        if status:
            query = query.where(Collection.status == status)
        rows = list(session.scalars(query.order_by(Collection.collection_date, Collection.cooperative)))
        names = _names(session, principal.department)
        answer = [collection_answer(c, names.get(c.cooperative, "")) for c in rows]
    ctx.publish()
    return answer


def _names(session: Session, department: str) -> dict[str, str]:
    return dict(session.execute(select(Due.cooperative, Due.cooperative_name).where(Due.department == department)
                                .distinct()).all())


def batch_answer(batch: Batch) -> dict:
    return {"id": batch.id, "collection_date": batch.collection_date, "message_id": batch.message_id,
            "count": batch.count, "total": batch.total, "status": batch.status, "created_at": batch.created_at,
            "created_by": batch.created_by, "exported_at": batch.exported_at}


def list_batches(ctx: ServiceContext, principal: Principal) -> list[dict]:
    with ctx.database.session() as session:
        return [batch_answer(b) for b in session.scalars(select(Batch).where(
            Batch.department == principal.department).order_by(Batch.collection_date.desc()))]


def build_batch(ctx: ServiceContext, principal: Principal, collection_date: date) -> dict:
    """The batch of a collection date: every planned collection of that date, checked by
    building its file once; 409 when the date has a batch already or nothing is due."""
    try:
        with ctx.database.session() as session:
            creditor = _lock_department(session, principal.department)
            if creditor is None:
                raise Conflict("Paramétrez d'abord le créancier SEPA du département.")
            if session.scalars(select(Batch.id).where(Batch.department == principal.department,
                                                      Batch.collection_date == collection_date)).first():
                raise Conflict(f"Le lot du {collection_date:%d/%m/%Y} existe déjà.")
            plan(session, principal.department, ctx.settings.sepa_notice_days)
            amounts = _planned(session, principal.department, collection_date)
            if not amounts:
                raise Conflict(f"Aucun prélèvement n'est dû le {collection_date:%d/%m/%Y}.")
            batch = Batch(department=principal.department, collection_date=collection_date,
                          message_id=sepa_rules.message_id(principal.department, collection_date),
                          count=len(amounts), total=to_cents(sum(amounts)),
                          status=sepa_rules.BUILT, created_by=principal.login, created_at=datetime.now(timezone.utc))
            session.add(batch)
            session.flush()
            session.execute(update(Collection).where(*_planned_on(principal.department, collection_date))
                            .values(batch_id=batch.id), execution_options={"synchronize_session": False})
            ctx.audit(session, "sepa.batch_built", f"lot:{batch.message_id}", {
                "batch": batch.id, "collection_date": collection_date, "count": batch.count, "total": batch.total})
            # the file is built and checked against the schema when staff download it: a
            # file the schema refuses is never offered (409, the batch stays as it is)
            answer = batch_answer(batch)
    except IntegrityError:
        raise Conflict(f"Le lot du {collection_date:%d/%m/%Y} existe déjà.")
    ctx.publish()
    return answer


def _planned_on(department: str, day: date) -> tuple:
    return (Collection.department == department, Collection.collection_date == day,
            Collection.status == sepa_rules.PLANNED, Collection.batch_id.is_(None))


def _planned(session: Session, department: str, day: date) -> list:
    return list(session.scalars(select(Collection.amount).where(*_planned_on(department, day))))


def get_batch(ctx: ServiceContext, principal: Principal, batch_id: int) -> dict:
    with ctx.database.session() as session:
        batch = _batch(session, principal, batch_id)
        names = _names(session, batch.department)
        rows = session.scalars(select(Collection).where(Collection.batch_id == batch.id)
                               .order_by(Collection.cooperative))
        return {**batch_answer(batch), "collections": [collection_answer(c, names.get(c.cooperative, ""))
                                                        for c in rows]}


def _batch(session: Session, principal: Principal, batch_id: int, lock: bool = False) -> Batch:
    query = select(Batch).where(Batch.id == batch_id)
    batch = session.scalars(query.with_for_update() if lock else query).first()
    if batch is None:
        raise NotFound("Lot de prélèvements introuvable.")
    ensure_department(principal, batch.department)
    return batch


def export_batch(ctx: ServiceContext, principal: Principal, batch_id: int, version: str = "08") -> tuple[str, bytes]:
    """The batch's ``pain.008`` file; the first download exports the batch: its collections
    are locked (the adhesion's amount no longer changes them) and each mandate's amendment
    is carried by this collection, then cleared. Set-wise updates: a batch holds thousands."""
    with ctx.database.session() as session:
        batch = _batch(session, principal, batch_id, lock=True)
        creditor = session.get(Creditor, batch.department)
        if batch.status == sepa_rules.BUILT:
            mandate_ids = select(Collection.mandate_id).where(Collection.batch_id == batch.id).scalar_subquery()
            for collection_id, original in session.execute(
                    select(Collection.id, Mandate.original_iban).join(Mandate, Mandate.id == Collection.mandate_id)
                    .where(Collection.batch_id == batch.id, Mandate.original_iban != "")).all():
                session.execute(update(Collection).where(Collection.id == collection_id)
                                .values(original_iban=original))
            session.execute(update(Collection).where(Collection.batch_id == batch.id)
                            .values(status=sepa_rules.EXPORTED), execution_options={"synchronize_session": False})
            session.execute(update(Mandate).where(Mandate.id.in_(mandate_ids)).values(
                original_iban="", last_collected_on=batch.collection_date),
                execution_options={"synchronize_session": False})
            batch.status, batch.exported_at = sepa_rules.BATCH_EXPORTED, datetime.now(timezone.utc)
            # the first download only: it is what locks the collections (later ones change nothing)
            ctx.audit(session, "sepa.batch_exported", f"lot:{batch.message_id}", {
                "batch": batch.id, "collection_date": batch.collection_date, "count": batch.count,
                "total": batch.total, "version": version}, department=batch.department)
            session.flush()
        data = _file(session, creditor, batch, version)
    return f"{batch.message_id}-pain.008.001.{version}.xml", data


def _file(session: Session, creditor: Creditor, batch: Batch, version: str) -> bytes:
    rows = session.execute(
        select(Collection.end_to_end_id, Collection.amount, Collection.rum, Collection.year, Collection.cooperative,
               Collection.original_iban, Mandate.signed_on, Mandate.debtor_name, Mandate.iban, Mandate.bic,
               Mandate.street, Mandate.postcode, Mandate.town, Mandate.country, Mandate.original_iban)
        .join(Mandate, Mandate.id == Collection.mandate_id).where(Collection.batch_id == batch.id)
        .order_by(Collection.cooperative, Collection.id)).all()
    debits = [pain008.Debit(
        end_to_end_id=row[0], amount=row[1], rum=row[2], signed_on=row[6], debtor_name=row[7], iban=row[8],
        bic=row[9], address=pain008.Address(row[10], row[11], row[12], row[13]),
        remittance=f"Adhesion OCCE {row[3]} {row[4]} {row[0]}", original_iban=row[5] or row[14]) for row in rows]
    try:
        return pain008.build(batch.message_id, batch.created_at, batch.collection_date, pain008.Creditor(
            creditor.name, creditor.ics, creditor.iban, creditor.bic, _address(creditor)), debits, version)
    except pain008.Pain008Error as error:
        raise Conflict(f"Le fichier du lot ne peut pas être produit : {error}")


def _address(row) -> pain008.Address:
    return pain008.Address(row.street, row.postcode, row.town, row.country)


def mandate_pdf(ctx: ServiceContext, principal: Principal, rum: str) -> tuple[str, bytes]:
    with ctx.database.session() as session:
        mandate = _mandate(session, principal, rum)
        creditor = session.get(Creditor, mandate.department)
        if creditor is None:
            raise NotFound("Le département n'a plus de paramètres de créancier SEPA.")
        return f"mandat-{mandate.rum}.pdf", printing.render_mandate(session, mandate, creditor,
                                                                     ctx.settings.sepa_notice_days)
