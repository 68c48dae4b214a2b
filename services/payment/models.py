"""Tables of the payment service. Cooperatives are known here only through the
``adhesion.submitted`` events they produced (the ``dues`` rows)."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.columns import (
    CooperativeYearMixin,
    cooperative_number,
    department_code,
    login_name,
    moment,
    money,
    row_id,
    school_year,
)
from shared.consumer import ProcessedEventMixin
from shared.outbox import OutboxRowMixin


class Base(DeclarativeBase):
    pass


class Due(CooperativeYearMixin, Base):
    """What a cooperative owes for a school year, as its latest submitted adhesion says."""

    __tablename__ = "dues"
    __table_args__ = (UniqueConstraint("cooperative", "year"),)
    id: Mapped[int] = row_id()
    cooperative_name: Mapped[str] = mapped_column(String(200), default="")
    cooperative_email: Mapped[str] = mapped_column(String(254), default="")
    # what matching needs to recognise the cooperative in a bank label (from its events)
    cooperative_town: Mapped[str] = mapped_column(String(100), default="", server_default="")
    department_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    registration_code: Mapped[str] = mapped_column(String(20), default="", server_default="")
    validated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    amount_due: Mapped[Decimal] = money()
    revision: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = moment()


class Payment(CooperativeYearMixin, Base):
    """One payment received by the department (a cheque, a transfer, …)."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_cooperative_year", "cooperative", "year"),)
    id: Mapped[int] = row_id()
    amount: Mapped[Decimal] = money()
    method: Mapped[str] = mapped_column(String(20))
    reference: Mapped[str] = mapped_column(String(100), default="")
    received_on: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str] = login_name()
    created_at: Mapped[datetime] = moment()
    # a correction is a new, negative payment pointing at the one it cancels, never a deletion
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    reason: Mapped[str] = mapped_column(String(500), default="", server_default="")
    statement_line_id: Mapped[int | None] = mapped_column(Integer, index=True)


class Statement(Base):
    """One imported bank statement file."""

    __tablename__ = "statements"
    id: Mapped[int] = row_id()
    department: Mapped[str] = department_code(index=True)
    format: Mapped[str] = mapped_column(String(20))
    layout: Mapped[str] = mapped_column(String(40), default="")
    filename: Mapped[str] = mapped_column(String(200), default="")
    account: Mapped[str] = mapped_column(String(64), default="")
    lines_read: Mapped[int] = mapped_column(Integer)
    new_lines: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    imported_by: Mapped[str] = login_name()
    imported_at: Mapped[datetime] = moment()


class StatementLine(Base):
    """A booked movement of a statement: credits wait for staff to confirm what they pay."""

    __tablename__ = "statement_lines"
    __table_args__ = (UniqueConstraint("department", "fingerprint"),)
    id: Mapped[int] = row_id()
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    department: Mapped[str] = department_code()
    fingerprint: Mapped[str] = mapped_column(String(40))
    account: Mapped[str] = mapped_column(String(64), default="")
    booked_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = money()
    label: Mapped[str] = mapped_column(String(500), default="")
    payer: Mapped[str] = mapped_column(String(200), default="")
    payer_iban: Mapped[str] = mapped_column(String(34), default="")
    bank_ref: Mapped[str] = mapped_column(String(100), default="")
    status: Mapped[str] = mapped_column(String(12), index=True)
    suggestions: Mapped[str] = mapped_column(Text, default="[]")  # JSON, best first
    slip_id: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[str] = login_name(default="")
    decided_at: Mapped[datetime | None] = moment()


class PayerAccount(Base):
    """An IBAN staff confirmed as paying for a cooperative: strong evidence next time."""

    __tablename__ = "payer_accounts"
    __table_args__ = (UniqueConstraint("department", "iban", "cooperative"),)
    id: Mapped[int] = row_id()
    department: Mapped[str] = department_code()
    iban: Mapped[str] = mapped_column(String(34))
    cooperative: Mapped[str] = cooperative_number()


class ChequeSlip(Base):
    """A *bordereau de remise de chèques*: open, closed (printed, brought to the bank), banked."""

    __tablename__ = "cheque_slips"
    __table_args__ = (UniqueConstraint("department", "number"),)
    id: Mapped[int] = row_id()
    department: Mapped[str] = department_code(index=True)
    number: Mapped[str] = mapped_column(String(20))
    account: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str] = login_name()
    created_at: Mapped[datetime] = moment()
    closed_at: Mapped[datetime | None] = moment()
    banked_line_id: Mapped[int | None] = mapped_column(Integer)


class Cheque(Base):
    __tablename__ = "cheques"
    id: Mapped[int] = row_id()
    slip_id: Mapped[int] = mapped_column(ForeignKey("cheque_slips.id"), index=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    cooperative: Mapped[str] = cooperative_number()
    year: Mapped[str] = school_year()
    amount: Mapped[Decimal] = money()
    cheque_number: Mapped[str] = mapped_column(String(20))
    bank: Mapped[str] = mapped_column(String(100), default="")
    drawer: Mapped[str] = mapped_column(String(200), default="")


class OutboxEvent(OutboxRowMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
