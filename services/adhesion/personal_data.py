"""The personal data of a cooperative's people: the export gathers what every service
holds (each answers for its own over HTTP), the erasure replaces names and mailboxes
with « anonymisé » here and, through ``cooperative.personal_data_erased``, in every other
service; amounts, codes and accounting records stay (ten years)."""
import secrets
from datetime import datetime, timezone

from sqlalchemy import select

from contracts import adhesion as contracts
from services.adhesion.departments import is_national
from services.adhesion.models import (
    Account,
    Adhesion,
    AdhesionClass,
    Cooperative,
    CooperativeChange,
    OutboxEvent,
    PasswordReset,
)
from services.adhesion.service import cooperative_for
from shared import outbox
from shared.auth import Principal, hash_password, session_store
from shared.errors import Forbidden, NotFound
from shared.events import service_names
from shared.personal_data import ANONYMISED, gather, rows, scrub_outbox, scrub_text
from shared.service import ServiceContext


def own_tables(ctx: ServiceContext, number: str) -> dict:
    with ctx.database.session() as session:
        adhesions = select(Adhesion).where(Adhesion.cooperative == number).order_by(Adhesion.year)
        ids = select(Adhesion.id).where(Adhesion.cooperative == number)
        return {
            "cooperatives": rows(session, select(Cooperative).where(Cooperative.number == number),
                                 ("number", "name", "town", "email", "department", "active")),
            "accounts": rows(session, select(Account).where(Account.cooperative == number),
                             ("login", "role", "email", "active")),
            "adhesions": rows(session, adhesions, ("year", "status", "registration_code", "correction_message",
                                                   "amount_paid", "submitted_at", "validated_at")),
            "adhesion_classes": rows(session, select(AdhesionClass).where(AdhesionClass.adhesion_id.in_(ids))
                                     .order_by(AdhesionClass.adhesion_id, AdhesionClass.position),
                                     ("name", "teachers", "teacher_count", "student_count")),
            "cooperative_changes": rows(session, select(CooperativeChange).where(
                CooperativeChange.cooperative == number).order_by(CooperativeChange.id),
                ("field", "old", "new", "by", "at")),
            "password_links": rows(session, select(PasswordReset).where(PasswordReset.login == number),
                                   ("reason", "created_at", "expires_at", "used_at")),
        }


def export(ctx: ServiceContext, principal: Principal, number: str) -> dict:
    """One document: this service's tables and every other service's answer (owner, the
    department's staff, the national admin); the export itself is audited."""
    with ctx.database.session() as session:
        cooperative_for(session, principal, number)
    services = {"adhesion": own_tables(ctx, number)}
    services.update(gather(ctx.settings, ctx.name, number, [name for name in service_names() if name != ctx.name]))
    with ctx.database.session() as session:
        ctx.audit(session, "personal_data.exported", number, {"services": sorted(services)})
    return {"cooperative": number, "generated_at": datetime.now(timezone.utc), "services": services}


def erase(ctx: ServiceContext, principal: Principal, number: str) -> dict:
    """National admin only: names and mailboxes become « anonymisé » here, the login stops
    (sessions closed, password unknowable), and every other service is told."""
    with ctx.database.session() as session:
        if not is_national(session, principal):
            raise Forbidden("Seul l'administrateur national efface les données personnelles.")
        cooperative = session.get(Cooperative, number)
        if cooperative is None:
            raise NotFound(f"Coopérative {number} inconnue.")
        known = [cooperative.name, cooperative.email]
        changes = list(session.scalars(select(CooperativeChange).where(CooperativeChange.cooperative == number)))
        known += [value for change in changes if change.field in ("name", "email") for value in (change.old, change.new)]
        cooperative.name, cooperative.email, cooperative.active = ANONYMISED, ANONYMISED, False
        for change in changes:
            if change.field in ("name", "email"):
                change.old, change.new = ANONYMISED, ANONYMISED
        for account in session.scalars(select(Account).where(Account.cooperative == number)):
            account.active, account.email = False, None
            account.password_hash = hash_password(secrets.token_urlsafe(32))
        ids = select(Adhesion.id).where(Adhesion.cooperative == number)
        for row in session.scalars(select(AdhesionClass).where(AdhesionClass.adhesion_id.in_(ids))):
            known.append(row.teachers)
            row.teachers = ANONYMISED if row.teachers else row.teachers
        for adhesion in session.scalars(select(Adhesion).where(Adhesion.cooperative == number)):
            adhesion.correction_message = scrub_text(adhesion.correction_message, known) and ANONYMISED
        scrubbed = scrub_outbox(session, OutboxEvent, known)
        outbox.record(session, OutboxEvent, contracts.PERSONAL_DATA_ERASED,
                      {"cooperative": number, "department": cooperative.department, "requested_by": principal.login})
        ctx.audit(session, "personal_data.erased", number, {"outbox_rows": scrubbed}, department=cooperative.department)
    session_store().close_all(number)
    ctx.publish()
    return {"cooperative": number, "erased": True}


def retention_due(ctx: ServiceContext, today) -> int:
    """The daily run: each department's retention periods go to every service (each
    removes what it holds beyond them) in ``department.retention_due``; the run itself is
    audited as the system's action. Returns how many departments."""
    from services.adhesion.models import Department

    with ctx.database.session() as session:
        departments = list(session.scalars(select(Department).order_by(Department.code)))
        for department in departments:
            periods = {"signin_months": department.retention_signin_months,
                       "email_months": department.retention_email_months,
                       "accounting_years": department.retention_accounting_years}
            outbox.record(session, OutboxEvent, contracts.RETENTION_DUE,
                          {"department": department.code, "day": today, **periods})
            ctx.audit(session, "retention.started", f"departement:{department.code}", {"day": today, **periods},
                      department=department.code)
    ctx.publish()
    return len(departments)
