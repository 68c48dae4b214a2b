"""Tables of the ledger service. Cooperatives are known here only through the
``adhesion.validated`` events and the tokens of the schools that open their book."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
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
    updated_at: Mapped[datetime] = moment()
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


class OutboxEvent(OutboxRowMixin, Base):
    """Its audit records (``audit.recorded``), written with the change they describe."""

    __tablename__ = "outbox"
