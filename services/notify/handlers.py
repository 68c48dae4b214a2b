"""Celery tasks the notify service consumes: one email per event, sent exactly once.

Each task works in two transactions:
1. ``consume_once`` records the event and, under the log's unique key, the message
   ``queued`` with its composed bytes — a re-delivered event, or another event asking for
   the same email, adds nothing;
2. the row is locked (``SELECT … FOR UPDATE``) and, unless already sent or failed, handed
   to SMTP; a transient failure is recorded (attempts, last_error) and raised so Celery
   retries with backoff. Step 2 runs on every delivery, so a crash between the two
   steps is finished by the re-delivery or the retry.

A confirmation's PDFs are fetched from the documents API before step 1 (the event only
says where they are), and only when the email is not logged yet. Mail goes in two lanes:
transactional tasks on queue ``notify``, reminder rounds on ``notify_bulk`` (the queue is
the task name before its first dot), each with its own worker process, so a round of
600 reminders never stands in front of a confirmation; the bulk lane is paced.
"""
import dataclasses
import logging
import time
from datetime import datetime, timezone

from celery import current_task
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from contracts import adhesion as adhesion_events
from contracts import documents as documents_events
from services.notify import claims, domain, smtp
from services.notify.mail import compose
from services.notify.models import Message, ProcessedEvent
from shared.consumer import consume_once, consumer
from shared.events import Event
from shared.service import service

log = logging.getLogger(__name__)

# Passing failures: an SMTP 4xx, the documents API out of reach. Each email's retries end
# (domain.gives_up, domain.claim_gives_up) in a status staff see.
PASSING = (smtp.TransientSmtpError, claims.DocumentsUnavailable)


@consumer(adhesion_events.SUBMITTED, retry_for=PASSING)
def on_adhesion_submitted(event: Event) -> str:
    """Acknowledge a submission (and each resubmission with a new amount)."""
    return deliver(on_adhesion_submitted.name, event)


@consumer(adhesion_events.CORRECTION_REQUESTED, retry_for=PASSING)
def on_correction_requested(event: Event) -> str:
    """Tell the school what the staff need corrected."""
    return deliver(on_correction_requested.name, event)


@consumer(documents_events.GENERATED, retry_for=PASSING)
def on_documents_generated(event: Event) -> str:
    """Confirm a validation with its PDFs attached: once per validation version."""
    return deliver(on_documents_generated.name, event)


@consumer(adhesion_events.REMINDER_DUE, lane="notify_bulk", retry_for=PASSING)
def on_reminder_due(event: Event) -> str:
    """Remind a school not renewed yet: once per cooperative, year and reminder round.
    Bulk lane (queue ``notify_bulk``), paced to ``BULK_MAIL_RATE`` per department."""
    return deliver(on_reminder_due.name, event)


@consumer(adhesion_events.INVITED, retry_for=PASSING)
def on_cooperative_invited(event: Event) -> str:
    """« Votre accès à l'adhésion OCCE »: the new cooperative's link to choose its password."""
    return deliver(on_cooperative_invited.name, event)


@consumer(adhesion_events.PASSWORD_RESET_REQUESTED, retry_for=PASSING)
def on_password_reset_requested(event: Event) -> str:
    """The single-use link to choose a new password."""
    return deliver(on_password_reset_requested.name, event)


def deliver(consumer: str, event: Event) -> str:
    """Log the event's email once, then send it unless sent; returns the log status."""
    wanted = domain.email_for(event.type, event.data)
    context = service()
    if wanted.claims and needs_attachments(context.database, wanted.key, consumer, event.event_id):
        settings = context.settings
        try:
            wanted = dataclasses.replace(
                wanted, attachments=claims.fetch(wanted.claims, settings.internal_api_url, settings.secret_key))
        except claims.DocumentsUnavailable as exc:
            attempt = _attempt()
            if not domain.claim_gives_up(isinstance(exc, claims.ClaimNotHonoured), attempt,
                                         datetime.fromisoformat(event.occurred_at), datetime.now(timezone.utc)):
                raise
            reason = domain.claim_failure_text(exc, attempt + 1)
            log.error("%s: confirmation failed without its documents: %s", wanted.key, reason)
            consume_once(context.database, ProcessedEvent, consumer, event,
                         lambda session, _: queue(session, wanted, failure=reason))
            return domain.FAILED
    consume_once(context.database, ProcessedEvent, consumer, event, lambda session, _: queue(session, wanted))
    return send_queued(wanted.key, paced=domain.LANES[wanted.kind] == domain.BULK)


def _attempt() -> int:
    """How many times this task ran before (0 when called outside a worker)."""
    task = current_task
    return (task.request.retries or 0) if task and task.request else 0


def needs_attachments(database, key: str, consumer: str, event_id: str) -> bool:
    """Fetch the PDFs unless the email is logged already; a failed confirmation is fetched
    again for a new event (the documents re-issued after its failure)."""
    with database.session() as session:
        status = session.scalar(select(Message.status).where(Message.key == key))
        if status != domain.FAILED:
            return status is None
        return session.get(ProcessedEvent, (event_id, consumer)) is None


def queue(session: Session, wanted: domain.Email, failure: str | None = None) -> None:
    """Add the composed message to the log, unless it is there already or outdated;
    ``failure``: log it failed with that reason instead (its documents could not be had).
    A failed confirmation is queued again by a new event that brings its documents."""
    logged = session.scalars(select(Message).where(Message.key == wanted.key).with_for_update()).one_or_none()
    if logged is not None:
        if logged.status == domain.FAILED and wanted.attachments and failure is None:
            _requeue(logged, wanted)
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
    message = _compose(wanted)
    row = Message(
        key=wanted.key,
        kind=wanted.kind,
        cooperative=wanted.cooperative,
        department=wanted.department,
        year=wanted.year,
        sequence=wanted.sequence,
        to=wanted.to,
        subject=str(message["Subject"]),
        status=domain.QUEUED if failure is None else domain.FAILED,
        attempts=0,
        message_id=wanted.message_id,
        created_at=datetime.now(timezone.utc),
        last_error=failure,
        raw=smtp.as_stored(message),
    )
    try:
        with session.begin_nested():  # another event asking for the same email won the race
            session.add(row)
    except IntegrityError:
        log.info("%s already logged by a concurrent delivery", wanted.key)


def _compose(wanted: domain.Email):
    settings = service().settings
    return compose(
        wanted.kind,
        wanted.to,
        {**wanted.context, "public_base_url": settings.public_base_url},
        wanted.message_id,
        settings.mail_from,
        wanted.attachments,
    )


def _requeue(row: Message, wanted: domain.Email) -> None:
    log.warning("%s: failed before (%s); queued again with its re-issued documents", wanted.key, row.last_error)
    row.raw = smtp.as_stored(_compose(wanted))
    row.status = domain.QUEUED
    row.attempts = 0
    row.created_at = datetime.now(timezone.utc)  # the retry window starts again


def send_queued(key: str, paced: bool = False) -> str:
    """Send the logged message unless it is sent or failed, holding its row lock meanwhile
    so two deliveries of one event cannot both send. The stored bytes go out as they are,
    on this process's reused SMTP connection."""
    context = service()
    transient: smtp.TransientSmtpError | None = None
    if paced:
        _pace(context.database, key, context.settings.bulk_mail_rate)
    with context.database.session() as session:
        row = session.scalars(select(Message).where(Message.key == key).with_for_update()).one_or_none()
        if row is None:  # an outdated event: nothing was logged
            return "skipped"
        if row.status != domain.QUEUED:
            return row.status
        row.attempts += 1
        try:
            smtp.mailer_for(smtp_settings(context.settings)).send(
                row.raw, smtp.envelope_sender(context.settings.mail_from), [row.to])
        except smtp.TransientSmtpError as exc:
            row.last_error = domain.error_text(exc)
            if domain.gives_up(_aware(row.created_at), datetime.now(timezone.utc)):
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
        status = row.status
    if transient is not None:  # raised after the commit, so the attempt stays counted
        raise transient
    return status


def smtp_settings(settings) -> smtp.SmtpSettings:
    return smtp.SmtpSettings(
        host=settings.smtp_host,
        port=settings.smtp_port,
        user=settings.smtp_user,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
        messages_per_connection=settings.smtp_messages_per_connection,
    )


_next_slots: dict[str, float] = {}  # department -> when this process may send its next bulk message


def _pace(database, key: str, rate: float) -> None:
    """Wait for the department's next bulk slot (only for a message still to send)."""
    with database.session() as session:
        row = session.execute(select(Message.department, Message.status).where(Message.key == key)).one_or_none()
    if row is None or row.status != domain.QUEUED:
        return
    wait = domain.pace(_next_slots, row.department, rate, time.monotonic())
    if wait > 0:
        time.sleep(wait)


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
