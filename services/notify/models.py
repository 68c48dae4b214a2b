"""Tables of the notify service: the email log (which also holds each composed message
until it is sent) and the consumed events. The service emits no events: no outbox."""
from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.columns import cooperative_number, department_code, moment, row_id, school_year
from shared.consumer import ProcessedEventMixin
from shared.outbox import OutboxRowMixin


class Base(DeclarativeBase):
    pass


class Message(Base):
    """One email: created ``queued`` with its composed bytes, then ``sent`` or ``failed``."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_department_cooperative", "department", "cooperative"),
        Index("ix_messages_stream", "cooperative", "year", "kind"),
    )
    id: Mapped[int] = row_id()
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    cooperative: Mapped[str] = cooperative_number()
    department: Mapped[str] = department_code()
    year: Mapped[str] = school_year()
    sequence: Mapped[int] = mapped_column(Integer)  # adhesion revision, validation version or reminder round
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = moment()
    message_id: Mapped[str] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = moment(index=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    # a reminder: how many its round reminds, so the progress counts what is still in the
    # broker's queue (not logged yet) as waiting
    batch_total: Mapped[int | None] = mapped_column(Integer)


class CooperativeActivity(Base):
    """Whether a cooperative is active, as ``cooperative.active_changed`` last said: a
    reminder queued for a deactivated one is not sent."""

    __tablename__ = "cooperative_activity"
    cooperative: Mapped[str] = cooperative_number(primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean)
    changed_at: Mapped[datetime] = moment()


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"


class OutboxEvent(OutboxRowMixin, Base):
    """Its audit records (``audit.recorded``), written with the change they describe."""

    __tablename__ = "outbox"
