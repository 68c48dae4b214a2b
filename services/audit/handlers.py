"""The events the audit service consumes: every service's ``audit.recorded``, and the
daily retention run for its own sign-in records."""
from contracts import adhesion as adhesion_events
from contracts import audit as audit_events
from services.audit import service as audit
from services.audit.models import ProcessedEvent
from shared.consumer import consumer
from shared.service import service


@consumer(audit_events.RECORDED)
def on_audit_recorded(event) -> bool:
    """Append the record at the end of the chain; a redelivered event appends nothing
    (its id is looked for under the chain's lock)."""
    return audit.record_event(service(), event)


@consumer(adhesion_events.RETENTION_DUE, once=ProcessedEvent)
def on_retention_due(session, data: dict) -> None:
    audit.apply_retention(service(), session, data["department"], data["signin_months"], data["day"])
