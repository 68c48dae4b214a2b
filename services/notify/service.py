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
rounds) is paced per department.

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
from services.notify.models import Message, ProcessedEvent
from shared import sealed
from shared.auth import Principal, ensure_access
from shared.config import Settings
from shared.consumer import consume_once
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


_next_slots: dict[str, float] = {}  # department -> when this process may send its next bulk message


def _pace(ctx: ServiceContext, key: str) -> None:
    """Wait for the department's next bulk slot (only for a message still to send)."""
    with ctx.database.session() as session:
        row = session.execute(select(Message.department, Message.status).where(Message.key == key)).one_or_none()
    if row is None or row.status != domain.QUEUED:
        return
    wait = domain.pace(_next_slots, row.department, ctx.settings.bulk_mail_rate, time.monotonic())
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
    query = query.order_by(Message.created_at.desc(), Message.id.desc()).limit(filters["limit"])
    with ctx.database.session() as session:
        if filters.get("cooperative"):
            department = session.scalar(select(Message.department).where(
                Message.cooperative == filters["cooperative"]).limit(1))
            if department is not None:
                ensure_access(principal, filters["cooperative"], department)
        return list(session.scalars(query))


def reminder_progress(ctx: ServiceContext, principal: Principal, year: str, round_: int | None) -> dict:
    """The reminder emails of one round of the department, counted by status (the latest
    round unless ``round_``)."""
    reminders = (Message.kind == domain.RENEWAL_REMINDER, Message.department == principal.department,
                 Message.year == year)
    with ctx.database.session() as session:
        round_ = round_ or session.scalar(select(func.max(Message.sequence)).where(*reminders))
        counts = dict(session.execute(
            select(Message.status, func.count()).where(*reminders, Message.sequence == round_).group_by(Message.status)
        ).all()) if round_ else {}
    return {"year": year, "round": round_, **{status: counts.get(status, 0) for status in domain.STATUSES}}
