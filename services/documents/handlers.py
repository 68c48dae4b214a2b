"""The events the documents service consumes."""
from contracts import adhesion as adhesion_events
from services.documents import domain
from services.documents import personal_data as personal
from services.documents import service as documents
from services.documents.models import ProcessedEvent
from services.documents.storage import current_storage
from shared.consumer import consumer
from shared.events import Event
from shared.service import service


# OSError: the store is full or out of reach; RenderingFailed: a PDF could not be drawn.
# Both are retried until DOCUMENTS_GIVE_UP_SECONDS after the reservation, then the issue
# is failed on its documents for staff (service.issue_validated). A task killed mid-run
# is re-delivered (acks_late) and runs again from the start.
@consumer(adhesion_events.VALIDATED, retry_for=(OSError, domain.RenderingFailed))
def on_adhesion_validated(event: Event) -> bool:
    """Render, store and publish the documents of a validation, exactly once."""
    return documents.issue_validated(service(), current_storage(), event)


@consumer(adhesion_events.PERSONAL_DATA_ERASED, once=ProcessedEvent)
def on_personal_data_erased(session, data: dict) -> None:
    """Names and mailboxes of the cooperative's people become « anonymisé » here too."""
    personal.erase(service(), session, data["cooperative"])
