"""Tables of the ledger service. Cooperatives are known here only through the
``adhesion.validated`` events and the tokens of the schools that open their book."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.consumer import ProcessedEventMixin
from shared.types import ExactDecimal


class Base(DeclarativeBase):
    pass


class Cooperative(Base):
    """Which department a cooperative belongs to: what staff access is checked against."""

    __tablename__ = "cooperatives"
    number: Mapped[str] = mapped_column(String(16), primary_key=True)
    department: Mapped[str] = mapped_column(String(3), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")


class Category(Base):
    """An account of the chart: OCCE's own (``department`` empty) or a department's."""

    __tablename__ = "categories"
    __table_args__ = (UniqueConstraint("department", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(String(3), default="", index=True)
    code: Mapped[str] = mapped_column(String(10))
    label: Mapped[str] = mapped_column(String(100))


class Book(Base):
    """The cahier de comptes of one cooperative and exercise."""

    __tablename__ = "books"
    __table_args__ = (UniqueConstraint("cooperative", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cooperative: Mapped[str] = mapped_column(String(16))
    year: Mapped[str] = mapped_column(String(9))
    department: Mapped[str] = mapped_column(String(3), index=True)
    opening_bank: Mapped[Decimal] = mapped_column(ExactDecimal(2))
    opening_cash: Mapped[Decimal] = mapped_column(ExactDecimal(2))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    entries: Mapped[list["Entry"]] = relationship(back_populates="book", order_by="Entry.id")


class Entry(Base):
    """One line of the book: an expense (piece D…) or an income (piece R…)."""

    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("book_id", "direction", "sequence"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
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
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(2))
    adhesion: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    book: Mapped[Book] = relationship(back_populates="entries")
    allocations: Mapped[list["Allocation"]] = relationship(
        back_populates="entry", order_by="Allocation.id", cascade="all, delete-orphan")


class Allocation(Base):
    """The part of an entry that goes to one account of the chart."""

    __tablename__ = "allocations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    category: Mapped[str] = mapped_column(String(10))
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(2))
    entry: Mapped[Entry] = relationship(back_populates="allocations")


class AdhesionProposal(Base):
    """The adhesion entry proposed from ``adhesion.validated``: one per cooperative and year
    (the natural key), replaced by a re-validation until the school writes it."""

    __tablename__ = "adhesion_proposals"
    __table_args__ = (UniqueConstraint("cooperative", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cooperative: Mapped[str] = mapped_column(String(16))
    year: Mapped[str] = mapped_column(String(9))
    department: Mapped[str] = mapped_column(String(3), index=True)
    version: Mapped[int] = mapped_column(Integer)
    registration_code: Mapped[str] = mapped_column(String(12), default="")
    amount: Mapped[Decimal] = mapped_column(ExactDecimal(2))
    membership: Mapped[Decimal] = mapped_column(ExactDecimal(2))
    insurance: Mapped[Decimal] = mapped_column(ExactDecimal(2))
    method: Mapped[str] = mapped_column(String(20))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), unique=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
