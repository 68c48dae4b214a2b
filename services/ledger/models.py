"""Tables of the ledger service. Cooperatives are known here only through the
``adhesion.validated`` events and the tokens of the schools that open their book."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.columns import CooperativeYearMixin, cooperative_number, department_code, login_name, moment, money, row_id
from shared.consumer import ProcessedEventMixin
from shared.outbox import OutboxRowMixin


class Base(DeclarativeBase):
    pass


class Cooperative(Base):
    """Which department a cooperative belongs to: what staff access is checked against."""

    __tablename__ = "cooperatives"
    number: Mapped[str] = cooperative_number(primary_key=True)
    department: Mapped[str] = department_code(index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    # the school mailbox and town, from ``adhesion.validated``: the CRF emails go there
    email: Mapped[str] = mapped_column(String(254), default="")
    town: Mapped[str] = mapped_column(String(100), default="")


class Department(Base):
    """What the ledger knows of a department: its identity as the adhesion events give it
    (for the emails' signature) and its own setting, the CRF's deadline."""

    __tablename__ = "departments"
    code: Mapped[str] = department_code(primary_key=True)
    ref: Mapped[str] = mapped_column(Text, default="")  # the events' DepartmentRef, as JSON
    crf_deadline_month: Mapped[int] = mapped_column(Integer, default=9)
    crf_deadline_day: Mapped[int] = mapped_column(Integer, default=30)
    crf_reminder_dates: Mapped[str] = mapped_column(Text, default="")  # ["09-15", "09-25"] as JSON


class Category(Base):
    """An account of the chart: OCCE's own (``department`` empty) or a department's."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("department", "code"),)
    id: Mapped[int] = row_id()
    department: Mapped[str] = department_code(default="", index=True)
    code: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(100))


class Book(CooperativeYearMixin, Base):
    """The cahier de comptes of one cooperative and exercise."""

    __tablename__ = "books"
    __table_args__ = (UniqueConstraint("cooperative", "year"),)
    id: Mapped[int] = row_id()
    opening_bank: Mapped[Decimal] = money()
    opening_cash: Mapped[Decimal] = money()
    # the opening came from the previous exercise's closing (the school no longer types it)
    opening_carried: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = moment()
    # the year's end (docs/ledger.md#6-the-years-end)
    statement_balance: Mapped[Decimal | None] = money(nullable=True)
    cash_count_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    cash_counted: Mapped[str] = mapped_column(Text, default="")  # {"50.00": 1, …} as JSON
    cash_count_total: Mapped[Decimal | None] = money(nullable=True)
    closed_at: Mapped[datetime | None] = moment(nullable=True)
    closing_bank: Mapped[Decimal | None] = money(nullable=True)
    closing_cash: Mapped[Decimal | None] = money(nullable=True)
    result: Mapped[Decimal | None] = money(nullable=True)
    quitus: Mapped[str] = mapped_column(Text, default="")  # as the school gave it, JSON
    crf_state: Mapped[str | None] = mapped_column(String(10), nullable=True)  # submitted, received, returned
    crf_submitted_at: Mapped[datetime | None] = moment(nullable=True)
    crf_submissions: Mapped[int] = mapped_column(Integer, default=0)
    crf_returns: Mapped[int] = mapped_column(Integer, default=0)
    crf_message: Mapped[str] = mapped_column(Text, default="")  # the staff's last return message
    entries: Mapped[list["Entry"]] = relationship(back_populates="book", order_by="Entry.id")


class Entry(Base):
    """One line of the book: an expense (piece D…) or an income (piece R…)."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("book_id", "direction", "sequence"),)
    id: Mapped[int] = row_id()
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"), index=True)
    direction: Mapped[str] = mapped_column(String(7))
    sequence: Mapped[int] = mapped_column(Integer)
    piece: Mapped[str] = mapped_column(String(8))
    date: Mapped[date] = mapped_column(Date)
    label: Mapped[str] = mapped_column(String(200))
    account: Mapped[str] = mapped_column(String(4))
    method: Mapped[str] = mapped_column(String(20))
    cheque_number: Mapped[str] = mapped_column(String(30), default="")
    voucher: Mapped[str] = mapped_column(String(30), default="")
    amount: Mapped[Decimal] = money()
    adhesion: Mapped[bool] = mapped_column(default=False)
    payer: Mapped[str] = mapped_column(String(200), default="")  # who gave a subsidy (74…)
    pointed_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # seen on the statement
    created_by: Mapped[str] = login_name()
    created_at: Mapped[datetime] = moment()
    book: Mapped[Book] = relationship(back_populates="entries")
    allocations: Mapped[list["Allocation"]] = relationship(
        back_populates="entry", order_by="Allocation.id", cascade="all, delete-orphan")


class Allocation(Base):
    """The part of an entry that goes to one account of the chart."""

    __tablename__ = "allocations"
    id: Mapped[int] = row_id()
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    category: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = money()
    entry: Mapped[Entry] = relationship(back_populates="allocations")


class AdhesionProposal(CooperativeYearMixin, Base):
    """The adhesion entry proposed from ``adhesion.validated``: one per cooperative and year
    (the natural key), replaced by a re-validation until the school writes it."""

    __tablename__ = "adhesion_proposals"
    __table_args__ = (UniqueConstraint("cooperative", "year"),)
    id: Mapped[int] = row_id()
    version: Mapped[int] = mapped_column(Integer)
    registration_code: Mapped[str] = mapped_column(String(12), default="")
    amount: Mapped[Decimal] = money()
    membership: Mapped[Decimal] = money()
    insurance: Mapped[Decimal] = money()
    method: Mapped[str] = mapped_column(String(20))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), unique=True)
    updated_at: Mapped[datetime] = moment()


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"


class StatementLine(Base):
    """A line of the cooperative's own bank statement, imported for the pointage; each
    pairs with one entry at most (``entry_id`` unique)."""

    __tablename__ = "statement_lines"
    __table_args__ = (UniqueConstraint("book_id", "fingerprint"),)
    id: Mapped[int] = row_id()
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"), index=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    booked_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = money()
    label: Mapped[str] = mapped_column(String(300))
    cheque_number: Mapped[str] = mapped_column(String(30), default="")
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), unique=True)


class CrfStatement(Base):
    """The bank statement at 31 August the school attaches to its CRF (≤ 5 MB)."""

    __tablename__ = "crf_statements"
    book_id: Mapped[int] = mapped_column(ForeignKey("books.id"), primary_key=True)
    media_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[datetime] = moment()


class CrfReminder(Base):
    """A reminder round's email asked for one cooperative: once per cooperative, year and round."""

    __tablename__ = "crf_reminders"
    __table_args__ = (UniqueConstraint("cooperative", "year", "round"),)
    id: Mapped[int] = row_id()
    cooperative: Mapped[str] = cooperative_number()
    year: Mapped[str] = mapped_column(String(9))
    round: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = moment()


class CrfReminderRound(Base):
    """A scheduled reminder date of a department and exercise, claimed once by Celery beat
    (a second beat, or a restarted one, finds it taken)."""

    __tablename__ = "crf_reminder_rounds"
    department: Mapped[str] = department_code(primary_key=True)
    year: Mapped[str] = mapped_column(String(9), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    round: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=0)
    sent_at: Mapped[datetime] = moment()


class OutboxEvent(OutboxRowMixin, Base):
    """The CRF's events and its audit records (``audit.recorded``), written with the change
    they describe."""

    __tablename__ = "outbox"
