"""The events the notify service consumes: one email each, delivered by the service's
``deliver`` (service.py says how it is sent exactly once).

Mail goes in two lanes: one-to-one mail on queue ``notify``, bulk sends (reminder rounds,
the invitations of an import) on ``notify_bulk`` (the queue is the task name before its
first dot), each with its own worker process, so 600 reminders or invitations never
stand in front of a confirmation.
"""
from celery import current_task, shared_task

from contracts import adhesion as adhesion_events
from contracts import documents as documents_events
from contracts import ledger as ledger_events
from contracts import payment as payment_events
from services.notify import claims, smtp
from services.notify import personal_data as personal
from services.notify import service as notify
from services.notify.models import ProcessedEvent
from shared.consumer import RETRY_POLICY, consumer
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


@consumer(payment_events.DIRECT_DEBIT_NOTIFIED, lane="notify_bulk", retry_for=PASSING)
def on_direct_debit_notified(event: Event) -> str:
    """Pre-notify a direct debit (amount, date, RUM, ICS) at least SEPA_NOTICE_DAYS ahead:
    bulk lane, once per collection and amount."""
    return _deliver(on_direct_debit_notified.name, event)


@consumer(payment_events.DIRECT_DEBIT_RETURNED, retry_for=PASSING)
def on_direct_debit_returned(event: Event) -> str:
    """A direct debit came back unpaid: the school is told why."""
    return _deliver(on_direct_debit_returned.name, event)


@consumer(payment_events.DIRECT_DEBIT_RETURN_FOR_STAFF, retry_for=PASSING)
def on_direct_debit_return_for_staff(event: Event) -> str:
    """The same return told to the department's mailbox: whose payment was reversed, why."""
    return _deliver(on_direct_debit_return_for_staff.name, event)


@consumer(payment_events.REVERSED, retry_for=PASSING)
def on_payment_reversed(event: Event) -> str:
    """Staff reversed a payment (a cheque returned unpaid, a transfer rejected): the school
    is told what remains to pay and how. Transactional lane, one email per reversal."""
    return _deliver(on_payment_reversed.name, event)


@consumer(ledger_events.CRF_SUBMITTED, retry_for=PASSING)
def on_crf_submitted(event: Event) -> str:
    """Acknowledge a compte rendu financier sent to the department (transactional lane)."""
    return _deliver(on_crf_submitted.name, event)


@consumer(ledger_events.CRF_RETURNED, retry_for=PASSING)
def on_crf_returned(event: Event) -> str:
    """Tell the school its CRF is returned, with the staff's message."""
    return _deliver(on_crf_returned.name, event)


@consumer(ledger_events.CRF_REMINDER_DUE, lane="notify_bulk", retry_for=PASSING)
def on_crf_reminder_due(event: Event) -> str:
    """Remind a school whose CRF is not sent: once per round (bulk lane, paced)."""
    return _deliver(on_crf_reminder_due.name, event)


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


@shared_task(name=notify.RESEND_TASK, autoretry_for=PASSING, **RETRY_POLICY)
def send_logged(key: str) -> str:
    """« Renvoyer »: a logged email queued again by staff, sent as it was composed."""
    return notify.send_queued(service(), key)
@consumer(adhesion_events.PERSONAL_DATA_ERASED, once=ProcessedEvent)
def on_personal_data_erased(session, data: dict) -> None:
    """Names and mailboxes of the cooperative's people become « anonymisé » here too."""
    personal.erase(service(), session, data["cooperative"])


@consumer(adhesion_events.RETENTION_DUE, once=ProcessedEvent)
def on_retention_due(session, data: dict) -> None:
    """The daily run: the bodies of the department's emails older than its retention go."""
    personal.apply_retention(service(), session, data["department"], data["email_months"], data["day"])
