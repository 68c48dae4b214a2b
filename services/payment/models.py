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
    # the school's answer « prélèvement » (docs/sepa.md), and where staff are emailed a return
    direct_debit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    department_email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    # JSON: how schools pay the department (payee, IBAN, BIC, address…), from the latest
    # submission; a reversed payment's email says it again
    department_contact: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
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
    # a direct debit returned or rejected (CAMT.053): what finds its collection (docs/sepa.md)
    bank_tx_code: Mapped[str] = mapped_column(String(20), default="", server_default="")
    return_reason: Mapped[str] = mapped_column(String(4), default="", server_default="")
    end_to_end_id: Mapped[str] = mapped_column(String(35), default="", server_default="")
    mandate_id: Mapped[str] = mapped_column(String(35), default="", server_default="")
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


class Creditor(Base):
    """The department as SEPA creditor (docs/sepa.md#1-creditor)."""

    __tablename__ = "sepa_creditors"
    department: Mapped[str] = department_code(primary_key=True)
    name: Mapped[str] = mapped_column(String(70))
    ics: Mapped[str] = mapped_column(String(35))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str] = mapped_column(String(11), default="")
    street: Mapped[str] = mapped_column(String(70), default="")
    postcode: Mapped[str] = mapped_column(String(16), default="")
    town: Mapped[str] = mapped_column(String(35), default="")
    country: Mapped[str] = mapped_column(String(2), default="FR")
    updated_by: Mapped[str] = login_name()
    updated_at: Mapped[datetime] = moment()


class CollectionDate(Base):
    """A day the department's bank debits the schools (« date de prélèvement »)."""

    __tablename__ = "sepa_collection_dates"
    __table_args__ = (UniqueConstraint("department", "day"),)
    id: Mapped[int] = row_id()
    department: Mapped[str] = department_code(index=True)
    year: Mapped[str] = school_year()
    day: Mapped[date] = mapped_column(Date)


class Mandate(Base):
    """A cooperative's mandate: pending until staff record its signature, then active;
    revoked by staff, expired after 36 months without a collection."""

    __tablename__ = "sepa_mandates"
    id: Mapped[int] = row_id()
    rum: Mapped[str] = mapped_column(String(35), unique=True)
    department: Mapped[str] = department_code(index=True)
    cooperative: Mapped[str] = cooperative_number(index=True)
    status: Mapped[str] = mapped_column(String(10))
    debtor_name: Mapped[str] = mapped_column(String(70))
    iban: Mapped[str] = mapped_column(String(34))
    bic: Mapped[str] = mapped_column(String(11), default="")
    street: Mapped[str] = mapped_column(String(70), default="")
    postcode: Mapped[str] = mapped_column(String(16), default="")
    town: Mapped[str] = mapped_column(String(35), default="")
    country: Mapped[str] = mapped_column(String(2), default="FR")
    signed_on: Mapped[date | None] = mapped_column(Date)
    # the IBAN before an amendment, carried by the next collection (AmdmntInd), then cleared
    original_iban: Mapped[str] = mapped_column(String(34), default="")
    last_collected_on: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str] = login_name()
    created_at: Mapped[datetime] = moment()
    ended_at: Mapped[datetime | None] = moment()


class Batch(Base):
    """The bank file of one collection date: built, exported (downloaded, locked), credited."""

    __tablename__ = "sepa_batches"
    __table_args__ = (UniqueConstraint("department", "collection_date"),)
    id: Mapped[int] = row_id()
    department: Mapped[str] = department_code(index=True)
    collection_date: Mapped[date] = mapped_column(Date)
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    count: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = money()
    status: Mapped[str] = mapped_column(String(10))
    created_by: Mapped[str] = login_name()
    created_at: Mapped[datetime] = moment()
    exported_at: Mapped[datetime | None] = moment()
    credited_line_id: Mapped[int | None] = mapped_column(Integer)


class Collection(CooperativeYearMixin, Base):
    """One adhesion debited on one collection date: planned (pre-notified, follows the
    adhesion's amount), exported with its batch (locked), paid, or returned."""

    __tablename__ = "sepa_collections"
    __table_args__ = (UniqueConstraint("cooperative", "year", "collection_date"),)
    id: Mapped[int] = row_id()
    mandate_id: Mapped[int] = mapped_column(ForeignKey("sepa_mandates.id"), index=True)
    rum: Mapped[str] = mapped_column(String(35))
    amount: Mapped[Decimal] = money()
    collection_date: Mapped[date] = mapped_column(Date, index=True)
    end_to_end_id: Mapped[str] = mapped_column(String(35), index=True)
    status: Mapped[str] = mapped_column(String(10), index=True)
    original_iban: Mapped[str] = mapped_column(String(34), default="")
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("sepa_batches.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(Integer)
    reason_code: Mapped[str] = mapped_column(String(4), default="")
    reason: Mapped[str] = mapped_column(String(100), default="")
    notices: Mapped[int] = mapped_column(Integer, default=0)  # pre-notifications sent (one per amount)
    presentation: Mapped[int] = mapped_column(Integer, default=1)  # 2: an AM04 presented again
    created_at: Mapped[datetime] = moment()


class OutboxEvent(OutboxRowMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
