"""The events the notify service consumes: one email each, delivered by the service's
``deliver`` (service.py says how it is sent exactly once).

Mail goes in two lanes: one-to-one mail on queue ``notify``, bulk sends (reminder rounds,
the invitations of an import) on ``notify_bulk`` (the queue is the task name before its
first dot), each with its own worker process, so 600 reminders or invitations never
stand in front of a confirmation.
"""
from celery import current_task

from contracts import adhesion as adhesion_events
from contracts import documents as documents_events
from services.notify import claims, smtp
from services.notify import service as notify
from services.notify.models import ProcessedEvent
from shared.consumer import consumer
from shared.events import Event
from shared.service import service

# Passing failures: an SMTP 4xx, the documents API out of reach. Each email's retries end
# (domain.gives_up, domain.claim_gives_up) in a status staff see.
PASSING = (smtp.TransientSmtpError, claims.DocumentsUnavailable)


@consumer(adhesion_events.SUBMITTED, retry_for=PASSING)
def on_adhesion_submitted(event: Event) -> str:
    """Acknowledge a submission (and each resubmission with a new amount)."""
    return _deliver(on_adhesion_submitted.name, event)


@consumer(adhesion_events.CORRECTION_REQUESTED, retry_for=PASSING)
def on_correction_requested(event: Event) -> str:
    """Tell the school what the staff need corrected."""
    return _deliver(on_correction_requested.name, event)


@consumer(documents_events.GENERATED, retry_for=PASSING)
def on_documents_generated(event: Event) -> str:
    """Confirm a validation with its PDFs attached: once per validation version."""
    return _deliver(on_documents_generated.name, event)


@consumer(adhesion_events.REMINDER_DUE, lane="notify_bulk", retry_for=PASSING)
def on_reminder_due(event: Event) -> str:
    """Remind a school not renewed yet: once per cooperative, year and reminder round.
    Bulk lane (queue ``notify_bulk``), paced to ``BULK_MAIL_RATE`` per department."""
    return _deliver(on_reminder_due.name, event)


@consumer(adhesion_events.INVITED, lane="notify_bulk", retry_for=PASSING)
def on_cooperative_invited(event: Event) -> str:
    """« Votre accès à l'adhésion OCCE »: the new cooperative's link to choose its password.
    Bulk lane: an import invites hundreds at once."""
    return _deliver(on_cooperative_invited.name, event)


@consumer(adhesion_events.PASSWORD_RESET_REQUESTED, retry_for=PASSING)
def on_password_reset_requested(event: Event) -> str:
    """The single-use link to choose a new password."""
    return _deliver(on_password_reset_requested.name, event)


@consumer(adhesion_events.COOPERATIVE_ACTIVE_CHANGED, once=ProcessedEvent)
def on_cooperative_active_changed(session, data: dict) -> None:
    """Remember who is deactivated: a reminder queued for them is not sent."""
    notify.record_activity(session, data)


def _deliver(consumer_name: str, event: Event) -> str:
    """The email of ``event``, its processed events kept under the task's name."""
    return notify.deliver(service(), consumer_name, event, attempt=_attempt())


def _attempt() -> int:
    """How many times this task ran before (0 when called outside a worker)."""
    task = current_task
    return (task.request.retries or 0) if task and task.request else 0
