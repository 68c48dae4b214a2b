"""The notify service's use cases: one email per event, sent exactly once; the email log
and the progress of a reminder round, as staff read them.

An email is delivered in two transactions:
1. ``consume_once`` records the event and, under the log's unique key, the message
   ``queued`` with its composed bytes — a re-delivered event, or another event asking for
   the same email, adds nothing;
2. the row is locked (``SELECT … FOR UPDATE``) and, unless already sent or failed, handed
   to SMTP; a transient failure is recorded (attempts, last_error) and raised so Celery
   retries with backoff. Step 2 runs on every delivery, so a crash between the two
   steps is finished by the re-delivery or the retry.

A confirmation's PDFs are fetched from the documents API before step 1 (the event only
says where they are), and only when the email is not logged yet. Bulk mail (reminder
rounds, invitations) is paced per department. A reminder is checked again when its turn
comes, under its row lock: a school that sent its adhesion, was validated or deactivated
since its round started, or was reminded within ``domain.REMINDER_GAP``, is skipped.

A password link is opened (shared/sealed.py) only to compose its email; once the email is
sent, or has failed for good, the log keeps a copy with the token taken out.
"""
import dataclasses
import logging
import time
from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.notify import claims, domain, smtp
from services.notify.mail import compose, redacted
from services.notify.models import CooperativeActivity, Message, ProcessedEvent
from shared import sealed
from shared.auth import SERVICE, Principal, ensure_access
from shared.config import Settings
from shared.consumer import consume_once
from shared.errors import Conflict, NotFound
from shared.events import Event
from shared.service import ServiceContext

log = logging.getLogger(__name__)


# -- sending ------------------------------------------------------------------------------

def deliver(ctx: ServiceContext, consumer: str, event: Event, attempt: int = 0) -> str:
    """Log the event's email once, then send it unless sent; returns the log status.
    ``consumer`` is the task's name (its processed events are kept under it), ``attempt``
    how many times it ran before."""
    wanted = domain.email_for(event.type, event.data)
    if wanted.claims and needs_attachments(ctx, wanted.key, consumer, event.event_id):
        settings = ctx.settings
        try:
            wanted = dataclasses.replace(
                wanted, attachments=claims.fetch(wanted.claims, settings.internal_api_url, settings.secret_key))
        except claims.DocumentsUnavailable as exc:
            if not domain.claim_gives_up(isinstance(exc, claims.ClaimNotHonoured), attempt,
                                         datetime.fromisoformat(event.occurred_at), datetime.now(timezone.utc)):
                raise
            reason = domain.claim_failure_text(exc, attempt + 1)
            log.error("%s: confirmation failed without its documents: %s", wanted.key, reason)
            consume_once(ctx.database, ProcessedEvent, consumer, event,
                         lambda session, _: queue(session, wanted, ctx.settings, failure=reason))
            return domain.FAILED
    consume_once(ctx.database, ProcessedEvent, consumer, event,
                 lambda session, _: queue(session, wanted, ctx.settings))
    return send_queued(ctx, wanted.key, paced=domain.LANES[wanted.kind] == domain.BULK)


def needs_attachments(ctx: ServiceContext, key: str, consumer: str, event_id: str) -> bool:
    """Fetch the PDFs unless the email is logged already; a failed confirmation is fetched
    again for a new event (the documents re-issued after its failure)."""
    with ctx.database.session() as session:
        status = session.scalar(select(Message.status).where(Message.key == key))
        if status != domain.FAILED:
            return status is None
        return session.get(ProcessedEvent, (event_id, consumer)) is None


def queue(session: Session, wanted: domain.Email, settings: Settings, failure: str | None = None) -> None:
    """Add the composed message to the log, unless it is there already or outdated;
    ``failure``: log it failed with that reason instead (its documents could not be had).
    A failed confirmation is queued again by a new event that brings its documents."""
    logged = session.scalars(select(Message).where(Message.key == wanted.key).with_for_update()).one_or_none()
    if logged is not None:
        if logged.status == domain.FAILED and wanted.attachments and failure is None:
            _requeue(logged, wanted, settings)
        return  # another event already asked for this very email
    stream = session.scalars(
        select(Message.sequence).where(
            Message.cooperative == wanted.cooperative,
            Message.year == wanted.year,
            Message.kind.in_(domain.STREAMS[wanted.kind]),
        )
    ).all()
    if domain.is_stale(wanted.sequence, stream):
        log.info("%s: a newer email of this kind is logged; %s not sent", wanted.cooperative, wanted.key)
        return
    if wanted.claims and not wanted.attachments and failure is None:  # logged a moment ago, and gone since?
        raise claims.DocumentsUnavailable(f"{wanted.key}: attachments not fetched")
    try:
        message = _compose(wanted, settings)
        raw = smtp.as_stored(message)
    except ValueError as exc:  # a value no email can carry (an address with a line break): failed, for staff to see
        log.error("%s: cannot be composed: %s", wanted.key, exc)
        message, raw = None, b""
        failure = failure or f"Message impossible à composer : {domain.error_text(exc)}"
    row = Message(
        key=wanted.key,
        kind=wanted.kind,
        cooperative=wanted.cooperative,
        department=wanted.department,
        year=wanted.year,
        sequence=wanted.sequence,
        to=wanted.to,
        subject=str(message["Subject"]) if message is not None else "",
        status=domain.QUEUED if failure is None else domain.FAILED,
        attempts=0,
        message_id=wanted.message_id,
        created_at=datetime.now(timezone.utc),
        last_error=failure,
        raw=raw,
        batch_total=wanted.batch_total,
    )
    try:
        with session.begin_nested():  # another event asking for the same email won the race
            session.add(row)
    except IntegrityError:
        log.info("%s already logged by a concurrent delivery", wanted.key)


def _compose(wanted: domain.Email, settings: Settings):
    context = {**wanted.context, "public_base_url": settings.public_base_url}
    if "sealed_link" in context:  # opened only here: the log holds it until sent, then a redacted copy
        context["url"] = sealed.open_sealed(context.pop("sealed_link"), settings.secret_key)
    return compose(
        wanted.kind,
        wanted.to,
        context,
        wanted.message_id,
        settings.mail_from,
        wanted.attachments,
    )


def _requeue(row: Message, wanted: domain.Email, settings: Settings) -> None:
    log.warning("%s: failed before (%s); queued again with its re-issued documents", wanted.key, row.last_error)
    try:
        row.raw = smtp.as_stored(_compose(wanted, settings))
    except ValueError as exc:  # still nothing an email can carry: it stays failed, with why
        log.error("%s: cannot be composed: %s", wanted.key, exc)
        row.last_error = f"Message impossible à composer : {domain.error_text(exc)}"
        return
    row.status = domain.QUEUED
    row.attempts = 0
    row.created_at = datetime.now(timezone.utc)  # the retry window starts again


def send_queued(ctx: ServiceContext, key: str, paced: bool = False) -> str:
    """Send the logged message unless it is sent or failed, holding its row lock meanwhile
    so two deliveries of one event cannot both send. The stored bytes go out as they are,
    on this process's reused SMTP connection."""
    transient: smtp.TransientSmtpError | None = None
    if paced:
        _pace(ctx, key)
    with ctx.database.session() as session:
        row = session.scalars(select(Message).where(Message.key == key).with_for_update()).one_or_none()
        if row is None:  # an outdated event: nothing was logged
            return "skipped"
        if row.status != domain.QUEUED:
            return row.status
        if row.kind == domain.RENEWAL_REMINDER and _skip_reminder(session, row):
            return row.status
        row.attempts += 1
        try:
            smtp.mailer_for(smtp_settings(ctx.settings)).send(
                row.raw, smtp.envelope_sender(ctx.settings.mail_from), [row.to])
        except smtp.TransientSmtpError as exc:
            row.last_error = domain.error_text(exc)
            if domain.gives_up(row.created_at, datetime.now(timezone.utc)):
                row.status = domain.FAILED
                log.error("%s: giving up after %d attempts: %s", key, row.attempts, exc)
            else:
                transient = exc
        except smtp.PermanentSmtpError as exc:
            row.status = domain.FAILED
            row.last_error = domain.error_text(exc)
            log.error("%s: refused for good: %s", key, exc)
        else:
            row.status = domain.SENT
            row.sent_at = datetime.now(timezone.utc)
        if row.status != domain.QUEUED and row.kind in domain.LINK_KINDS:
            row.raw = redacted(row.raw)  # the live token leaves the log with its last attempt
        status = row.status
    if transient is not None:  # raised after the commit, so the attempt stays counted
        raise transient
    return status


def smtp_settings(settings: Settings) -> smtp.SmtpSettings:
    return smtp.SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        user=settings.smtp_user,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        messages_per_connection=settings.smtp_messages_per_connection,
    )


def _skip_reminder(session: Session, row: Message) -> bool:
    """Mark a queued reminder skipped when it is no longer due (its row is locked)."""
    activity = session.get(CooperativeActivity, row.cooperative)
    renewed = session.scalar(select(func.count()).where(
        Message.cooperative == row.cooperative, Message.year == row.year,
        Message.kind.in_(domain.RENEWED_KINDS))) > 0
    last_reminded_at = session.scalar(select(func.max(Message.sent_at)).where(
        Message.cooperative == row.cooperative, Message.year == row.year, Message.kind == domain.RENEWAL_REMINDER,
        Message.status == domain.SENT, Message.id != row.id))
    reason = domain.reminder_skip_reason(activity is not None and not activity.active, renewed, last_reminded_at,
                                         datetime.now(timezone.utc))
    if reason is None:
        return False
    row.status, row.last_error = domain.SKIPPED, reason
    log.info("%s: %s", row.key, reason)
    return True


def record_activity(session: Session, data: dict) -> None:
    """``cooperative.active_changed``: the newest change wins (events may come out of order)."""
    number, changed_at = data["cooperative"]["number"], data["changed_at"]
    row = session.get(CooperativeActivity, number, with_for_update=True)
    if row is None:
        session.add(CooperativeActivity(cooperative=number, active=data["active"], changed_at=changed_at))
    elif row.changed_at <= changed_at:
        row.active, row.changed_at = data["active"], changed_at


_next_slots: dict[str, float] = {}  # department -> when this process may send its next bulk message


def _pace(ctx: ServiceContext, key: str) -> None:
    """Wait for the department's next bulk slot (only for a message still to send: a
    reminder no longer due is skipped here, without spending a slot)."""
    with ctx.database.session() as session:
        row = session.scalars(select(Message).where(Message.key == key).with_for_update()).one_or_none()
        if row is not None and row.status == domain.QUEUED and row.kind == domain.RENEWAL_REMINDER:
            _skip_reminder(session, row)
        if row is None or row.status != domain.QUEUED:
            return
        department = row.department
    wait = domain.pace(_next_slots, department, ctx.settings.bulk_mail_rate, time.monotonic())
    if wait > 0:
        time.sleep(wait)


# -- what staff read ----------------------------------------------------------------------

def list_messages(ctx: ServiceContext, principal: Principal, filters: dict) -> list[Message]:
    """The department's emails, newest first, filtered by cooperative, year, kind or status.
    Another department's cooperative is refused, not answered with an empty list."""
    query = select(Message).where(Message.department == principal.department)
    for name in ("cooperative", "year", "kind", "status"):
        if name in filters:
            query = query.where(getattr(Message, name) == filters[name])
    query = query.order_by(Message.created_at.desc(), Message.id.desc()).offset(
        filters.get("offset", 0)).limit(filters["limit"])
    with ctx.database.session() as session:
        if filters.get("cooperative"):
            department = session.scalar(select(Message.department).where(
                Message.cooperative == filters["cooperative"]).limit(1))
            if department is not None:
                ensure_access(principal, filters["cooperative"], department)
        return list(session.scalars(query))


def reminder_progress(ctx: ServiceContext, principal: Principal, year: str, round_: int | None) -> dict:
    """The reminder emails of one round of the department, counted by status (the latest
    round unless ``round_``). ``total`` is the round's size as its events say; what is not
    logged yet (still in the broker's queue) counts as ``queued``, so « 491 envoyés sur
    491, 0 en attente » is never read while 700 wait (issue 25)."""
    reminders = (Message.kind == domain.RENEWAL_REMINDER, Message.department == principal.department,
                 Message.year == year)
    with ctx.database.session() as session:
        round_ = round_ or session.scalar(select(func.max(Message.sequence)).where(*reminders))
        counts = dict(session.execute(
            select(Message.status, func.count()).where(*reminders, Message.sequence == round_).group_by(Message.status)
        ).all()) if round_ else {}
        size = session.scalar(select(func.max(Message.batch_total)).where(
            *reminders, Message.sequence == round_)) if round_ else None
    counts = {status: counts.get(status, 0) for status in domain.STATUSES}
    logged = sum(counts.values())
    total = max(size or 0, logged)
    counts[domain.QUEUED] += total - logged
    return {"year": year, "round": round_, "total": total, **counts}


# -- « Renvoyer » ---------------------------------------------------------------------------

RESEND_TASK = "notify.send_logged"  # the transactional lane (queue ``notify``), whatever the kind


def failed_messages(ctx: ServiceContext, limit: int) -> list[Message]:
    with ctx.database.session() as session:
        return list(session.scalars(select(Message).where(Message.status == domain.FAILED)
                                    .order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)))


def resend(ctx: ServiceContext, principal: Principal, message_id: int) -> dict:
    """Queue a failed email again and hand it to the transactional lane. The task is
    published before the commit: if the broker refuses it nothing changed (503); the
    task's ``send_queued`` locks the row, so it sees the commit."""
    with ctx.database.session() as session:
        row = session.scalars(select(Message).where(Message.id == message_id).with_for_update()).one_or_none()
        if row is None or (principal.role != SERVICE and row.department != principal.department):
            raise NotFound("Aucun e-mail de ce numéro dans votre département.")
        if row.status != domain.FAILED:
            raise Conflict("Cet e-mail n'est pas en échec : il n'y a rien à renvoyer.")
        if not row.raw:
            raise Conflict("Ce message n'a pas pu être composé : corrigez la fiche, puis renvoyez-le depuis l'étape "
                           "qui l'a produit.")
        if row.kind in domain.NEEDS_DOCUMENTS and b"Content-Disposition: attachment" not in row.raw:
            raise Conflict("Cette confirmation est partie sans ses documents : utilisez « Réémettre les documents "
                           "et renvoyer ».")
        row.status = domain.QUEUED
        row.attempts = 0
        row.created_at = datetime.now(timezone.utc)  # the retry window starts again
        ctx.audit(session, "email.resent", f"email:{row.id}", {
            "email_id": row.id, "cooperative": row.cooperative, "kind": row.kind,
            "status": {"before": domain.FAILED, "after": domain.QUEUED}}, department=row.department)
        session.flush()
        ctx.celery.send_task(RESEND_TASK, args=[row.key], queue="notify", retry=False)
        log.warning("%s: failed (%s); queued again by %s", row.key, row.last_error, principal.login)
        return {"id": row.id, "status": row.status}
