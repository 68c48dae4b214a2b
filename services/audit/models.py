"""Tables of the audit service: the chained records (append-only: triggers of the
migration refuse UPDATE, DELETE and TRUNCATE), the chain's head (one row, locked by each
append, so two appends never fork the chain), the tombstones retention leaves, the
consumed events."""
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.columns import department_code, login_name, moment
from shared.consumer import ProcessedEventMixin


class Base(DeclarativeBase):
    pass


class AuditRecord(Base):
    __tablename__ = "records"
    __table_args__ = (
        # a department's listing, newest first (at, then seq), with or without one filter:
        # each an index whose order is the listing's, so a page reads its 100 rows and stops,
        # September's as fast as this week's
        Index("ix_records_department_at_seq", "department", "at", "seq"),
        Index("ix_records_department_target_at", "department", "target", "at"),
        Index("ix_records_department_actor_at", "department", "actor", "at"),
        Index("ix_records_department_action_at", "department", "action", "at"),
        Index("ix_records_target_at", "target", "at"),
        Index("ix_records_action_at", "action", "at"),
        Index("ix_records_at_seq", "at", "seq"),
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    at: Mapped[datetime] = moment()
    service: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = login_name()
    actor_kind: Mapped[str] = mapped_column(String(10))
    department: Mapped[str] = department_code()
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(100))
    details: Mapped[str] = mapped_column(Text)  # JSON, as the event carried it
    address: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class ChainHead(Base):
    """The last number and hash appended: the lock every append takes, and what the check
    compares the chain's end with."""

    __tablename__ = "chain_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class Tombstone(Base):
    """A sign-in record retention removed: its number and hash stay, so the chain still
    checks; the database lets a record go only once its tombstone is written."""

    __tablename__ = "tombstones"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    removed_at: Mapped[datetime] = moment()


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
