"""Tables of the adhesion service."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.consumer import ProcessedEventMixin
from shared.outbox import OutboxRowMixin
from shared.types import ExactDecimal


class Base(DeclarativeBase):
    pass


class Department(Base):
    __tablename__ = "departments"
    code: Mapped[str] = mapped_column(String(3), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    insurer: Mapped[str] = mapped_column(String(200), default="")
    insurer_contract: Mapped[str] = mapped_column(String(100), default="")
    # The association's identity and contact block (pages, PDFs, emails' signature and
    # Reply-To) and how schools pay it; set by its staff, empty until then.
    sender_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    address: Mapped[str] = mapped_column(String(500), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(50), default="", server_default="")
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    payee: Mapped[str] = mapped_column(String(200), default="", server_default="")
    iban: Mapped[str] = mapped_column(String(34), default="", server_default="")
    bic: Mapped[str] = mapped_column(String(11), default="", server_default="")


class Account(Base):
    __tablename__ = "accounts"
    login: Mapped[str] = mapped_column(String(100), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(10))
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    cooperative: Mapped[str | None] = mapped_column(ForeignKey("cooperatives.number"))
    # staff: their own mailbox (a school's is its cooperative's); the national
    # administrator creates departments and the staff of any department
    email: Mapped[str | None] = mapped_column(String(254))
    national: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class LoginFailure(Base):
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(100), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class PasswordReset(Base):
    """A single-use link to choose a password (a reset, or the invitation of a new
    cooperative): only the hash of its token is kept."""

    __tablename__ = "password_resets"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(100), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # "lockout" | "requested" | "staff" | "invitation"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Cooperative(Base):
    __tablename__ = "cooperatives"
    number: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    town: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    # a deactivated cooperative cannot log in and gets no reminder; its history stays
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class CooperativeChange(Base):
    """Who changed what on a cooperative (a new mailbox receives the school's emails)."""

    __tablename__ = "cooperative_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cooperative: Mapped[str] = mapped_column(ForeignKey("cooperatives.number"), index=True)
    field: Mapped[str] = mapped_column(String(20))
    old: Mapped[str] = mapped_column(String(254))
    new: Mapped[str] = mapped_column(String(254))
    by: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RateCard(Base):
    __tablename__ = "rates"
    __table_args__ = (UniqueConstraint("department", "year"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    year: Mapped[str] = mapped_column(String(9))
    fee_per_student: Mapped[Decimal] = mapped_column(ExactDecimal(5))
    fee_per_adult: Mapped[Decimal] = mapped_column(ExactDecimal(5))
    fee_per_cooperative: Mapped[Decimal] = mapped_column(ExactDecimal(5))
    insurance_per_cooperator: Mapped[Decimal] = mapped_column(ExactDecimal(5))
    goods_threshold: Mapped[Decimal] = mapped_column(ExactDecimal(5))
    goods_rate: Mapped[Decimal] = mapped_column(ExactDecimal(5))
    instruments_threshold: Mapped[Decimal] = mapped_column(ExactDecimal(5))
    instruments_rate: Mapped[Decimal] = mapped_column(ExactDecimal(5))
    renewal_opens: Mapped[date] = mapped_column(Date)
    renewal_closes: Mapped[date] = mapped_column(Date)


class Adhesion(Base):
    __tablename__ = "adhesions"
    __table_args__ = (
        UniqueConstraint("cooperative", "year"),
        UniqueConstraint("department", "registration_code"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cooperative: Mapped[str] = mapped_column(ForeignKey("cooperatives.number"))
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    year: Mapped[str] = mapped_column(String(9), index=True)
    status: Mapped[str] = mapped_column(String(24), default="draft", index=True)
    insurance: Mapped[bool] = mapped_column(Boolean, default=False)
    goods_value: Mapped[Decimal] = mapped_column(ExactDecimal(2))
    instruments_value: Mapped[Decimal] = mapped_column(ExactDecimal(2))
    pay_transfer: Mapped[bool] = mapped_column(Boolean, default=False)
    pay_cheque: Mapped[bool] = mapped_column(Boolean, default=False)
    pay_other: Mapped[bool] = mapped_column(Boolean, default=False)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    correction_message: Mapped[str | None] = mapped_column(Text)
    engagement_signed: Mapped[bool] = mapped_column(Boolean, default=False)
    change_form: Mapped[str] = mapped_column(String(16), default="not_required")
    amount_paid: Mapped[Decimal] = mapped_column(ExactDecimal(2))
    payment_methods: Mapped[str] = mapped_column(String(200), default="")
    payments_seen: Mapped[int] = mapped_column(Integer, default=0)
    paid_on: Mapped[date | None] = mapped_column(Date)  # the latest payment's receipt (payment.received)
    registration_code: Mapped[str | None] = mapped_column(String(9))
    validation_count: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    validated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    classes: Mapped[list["AdhesionClass"]] = relationship(
        order_by="AdhesionClass.position", cascade="all, delete-orphan", lazy="selectin"
    )


class AdhesionClass(Base):
    __tablename__ = "adhesion_classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    adhesion_id: Mapped[int] = mapped_column(ForeignKey("adhesions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    teachers: Mapped[str] = mapped_column(String(500), default="")
    teacher_count: Mapped[int] = mapped_column(Integer)
    student_count: Mapped[int] = mapped_column(Integer)


class RegistrationSequence(Base):
    __tablename__ = "registration_sequences"
    department: Mapped[str] = mapped_column(String(3), primary_key=True)
    year: Mapped[str] = mapped_column(String(9), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class ReminderRound(Base):
    """How many renewal-reminder rounds the staff sent per department and year."""

    __tablename__ = "reminder_rounds"
    department: Mapped[str] = mapped_column(String(3), primary_key=True)
    year: Mapped[str] = mapped_column(String(9), primary_key=True)
    last_round: Mapped[int] = mapped_column(Integer, default=0)


class ReminderDate(Base):
    """A day on which the department's reminder round goes out (set by its staff)."""

    __tablename__ = "reminder_dates"
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"), primary_key=True)
    year: Mapped[str] = mapped_column(String(9), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # filled by the one beat run that sent it: the primary key makes a second run a no-op
    round: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    count: Mapped[int | None] = mapped_column(Integer)


class OutboxEvent(OutboxRowMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
