"""Tables of the payment service. Cooperatives are known here only through the
``adhesion.submitted`` events they produced (the ``dues`` rows)."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.consumer import ProcessedEventMixin
from shared.outbox import OutboxRowMixin
from shared.types import ExactDecimal


class Base(DeclarativeBase):
    pass


class Due(Base):
    """What a cooperative owes for a school year, as its latest submitted adhesion says."""

    __tablename__ = "dues"
    __table_args__ = (UniqueConstraint("cooperative", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cooperative: Mapped[str] = mapped_column(String(16))
    year: Mapped[str] = mapped_column(String(9))
    department: Mapped[str] = mapped_column(String(3), index=True)
    cooperative_name: Mapped[str] = mapped_column(String(200), default="")
    cooperative_email: Mapped[str] = mapped_column(String(254), default="")
    amount_due: Mapped[Decimal] = mapped_column(ExactDecimal(2))
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Payment(Base):
    """One payment received by the department (a cheque, a transfer, …)."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_cooperative_year", "cooperative", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cooperative: Mapped[str] = mapped_column(String(16))
    year: Mapped[str] = mapped_column(String(9))
    department: Mapped[str] = mapped_column(String(3), index=True)
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(2))
    method: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(100), default="")
    received_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OutboxEvent(OutboxRowMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
