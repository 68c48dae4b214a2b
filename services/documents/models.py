"""Tables of the documents service."""
from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.columns import DepartmentYearCounterMixin, cooperative_number, department_code, moment, row_id, school_year
from shared.consumer import ProcessedEventMixin
from shared.outbox import OutboxRowMixin


class Base(DeclarativeBase):
    pass


class Document(Base):
    """One PDF of one validation. A row is reserved (number and token fixed) before its
    PDF is rendered, so a re-run prints the same ones; it is visible once generated."""

    __tablename__ = "documents"
    __table_args__ = (UniqueConstraint("cooperative", "year", "kind", "version"),)
    id: Mapped[int] = row_id()
    kind: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(40), unique=True)
    cooperative: Mapped[str] = cooperative_number()
    cooperative_name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = department_code()
    year: Mapped[str] = school_year()
    version: Mapped[int] = mapped_column(Integer)
    registration_code: Mapped[str] = mapped_column(String(16))
    verify_token: Mapped[str] = mapped_column(String(64), unique=True)
    storage_key: Mapped[str] = mapped_column(String(200))
    reserved_at: Mapped[datetime] = moment()
    generated_at: Mapped[datetime | None] = moment()
    superseded_at: Mapped[datetime | None] = moment()
    # The adhesion.validated data the PDF is drawn from, kept at reservation: a re-issue
    # draws it again, documents never drawn included.
    source: Mapped[str | None] = mapped_column(Text, deferred=True)
    # The issue was given up (store or rendering failing past DOCUMENTS_GIVE_UP_SECONDS):
    # since when, and why in French; cleared when the documents are drawn.
    failed_at: Mapped[datetime | None] = moment()
    failure: Mapped[str | None] = mapped_column(String(500))


class DocumentSequence(DepartmentYearCounterMixin, Base):
    """The last serial given to documents of a department and school year."""

    __tablename__ = "document_sequences"
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class OutboxEvent(OutboxRowMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
