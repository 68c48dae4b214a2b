"""Tables of the notify service: the email log (which also holds each composed message
until it is sent) and the consumed events. The service emits no events: no outbox."""
from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.consumer import ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class Message(Base):
    """One email: created ``queued`` with its composed bytes, then ``sent`` or ``failed``."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_department_cooperative", "department", "cooperative"),
        Index("ix_messages_stream", "cooperative", "year", "kind"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    cooperative: Mapped[str] = mapped_column(String(16))
    department: Mapped[str] = mapped_column(String(3))
    year: Mapped[str] = mapped_column(String(9))
    sequence: Mapped[int] = mapped_column(Integer)  # adhesion revision, validation version or reminder round
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(10), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message_id: Mapped[str] = mapped_column(String(200))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
