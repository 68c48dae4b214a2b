"""The event envelope and who consumes which event (SPEC §3).

An event travels as a Celery task named ``<service>.<handler>`` on the consumer's own
queue; its single argument is the envelope as a plain dict.
"""
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone

SUBSCRIBERS: dict[str, tuple[str, ...]] = {
    "adhesion.submitted": ("payment.on_adhesion_submitted", "notify.on_adhesion_submitted"),
    "adhesion.correction_requested": ("notify.on_correction_requested",),
    "payment.received": ("adhesion.on_payment_received",),
    "adhesion.validated": ("documents.on_adhesion_validated",),
    "documents.generated": ("notify.on_documents_generated",),
    "adhesion.reminder_due": ("notify.on_reminder_due",),
}


@dataclass(frozen=True)
class Event:
    type: str
    data: dict
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())

    def __post_init__(self):
        if self.type not in SUBSCRIBERS:
            raise ValueError(f"unknown event type {self.type!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, envelope: dict) -> "Event":
        return cls(
            type=envelope["type"],
            data=envelope["data"],
            event_id=envelope["event_id"],
            occurred_at=envelope["occurred_at"],
        )
