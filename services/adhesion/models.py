"""Tables of the adhesion service."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false, func
from sqlalchemy import column as sa_column
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from shared.columns import (
    DepartmentYearCounterMixin,
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


class Department(Base):
    __tablename__ = "departments"
    code: Mapped[str] = department_code(primary_key=True)
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
    # the payment service told (payment.creditor_changed) that the department collects by
    # direct debit: the schools are offered « prélèvement » (docs/sepa.md)
    direct_debit_offered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # How long the department keeps sign-in records, email bodies and accounting records
    # (docs/audit.md#retention): the daily retention run reads them.
    retention_signin_months: Mapped[int] = mapped_column(Integer, default=12, server_default="12")
    retention_email_months: Mapped[int] = mapped_column(Integer, default=13, server_default="13")
    retention_accounting_years: Mapped[int] = mapped_column(Integer, default=10, server_default="10")


class Account(Base):
    __tablename__ = "accounts"
    # one account per login whatever its case (login_names.fold), whatever path writes it
    __table_args__ = (Index("uq_accounts_login_folded", func.lower(sa_column("login")), unique=True),)
    login: Mapped[str] = login_name(primary_key=True)
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
    id: Mapped[int] = row_id()
    login: Mapped[str] = login_name(index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = moment(index=True)


class PasswordReset(Base):
    """A single-use link to choose a password (a reset, or the invitation of a new
    cooperative): only the hash of its token is kept."""

    __tablename__ = "password_resets"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = login_name(index=True)
    reason: Mapped[str] = mapped_column(String(16))  # "lockout" | "requested" | "staff" | "invitation"
    created_at: Mapped[datetime] = moment()
    expires_at: Mapped[datetime] = moment()
    used_at: Mapped[datetime | None] = moment()


class Cooperative(Base):
    __tablename__ = "cooperatives"
    number: Mapped[str] = cooperative_number(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    town: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254))
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    # a deactivated cooperative cannot log in and gets no reminder; its history stays
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class CooperativeChange(Base):
    """Who changed what on a cooperative (a new mailbox receives the school's emails)."""

    __tablename__ = "cooperative_changes"
    id: Mapped[int] = row_id()
    cooperative: Mapped[str] = mapped_column(ForeignKey("cooperatives.number"), index=True)
    field: Mapped[str] = mapped_column(String(20))
    old: Mapped[str] = mapped_column(String(254))
    new: Mapped[str] = mapped_column(String(254))
    by: Mapped[str] = login_name()
    at: Mapped[datetime] = moment()


class RateCard(Base):
    """The department's tarifs for one school year: what every adhesion of that year is
    priced with (docs/product.md#3-rates), set by its staff on « Tarifs »."""

    __tablename__ = "rates"
    __table_args__ = (UniqueConstraint("department", "year"),)
    id: Mapped[int] = row_id()
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    year: Mapped[str] = school_year()
    fee_per_student: Mapped[Decimal] = money(5)
    fee_per_adult: Mapped[Decimal] = money(5)
    fee_per_cooperative: Mapped[Decimal] = money(5)
    insurance_per_cooperator: Mapped[Decimal] = money(5)
    goods_threshold: Mapped[Decimal] = money(5)
    goods_rate: Mapped[Decimal] = money(5)
    instruments_threshold: Mapped[Decimal] = money(5)
    instruments_rate: Mapped[Decimal] = money(5)
    renewal_opens: Mapped[date] = mapped_column(Date)
    renewal_closes: Mapped[date] = mapped_column(Date)


class Adhesion(Base):
    __tablename__ = "adhesions"
    __table_args__ = (
        UniqueConstraint("cooperative", "year"),
        UniqueConstraint("department", "registration_code"),
    )
    id: Mapped[int] = row_id()
    cooperative: Mapped[str] = mapped_column(ForeignKey("cooperatives.number"))
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"), index=True)
    year: Mapped[str] = school_year(index=True)
    status: Mapped[str] = mapped_column(String(24), default="draft", index=True)
    insurance: Mapped[bool] = mapped_column(Boolean, default=False)
    goods_value: Mapped[Decimal] = money()
    instruments_value: Mapped[Decimal] = money()
    pay_transfer: Mapped[bool] = mapped_column(Boolean, default=False)
    pay_cheque: Mapped[bool] = mapped_column(Boolean, default=False)
    pay_other: Mapped[bool] = mapped_column(Boolean, default=False)
    pay_direct_debit: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    correction_message: Mapped[str | None] = mapped_column(Text)
    engagement_signed: Mapped[bool] = mapped_column(Boolean, default=False)
    change_form: Mapped[str] = mapped_column(String(16), default="not_required")
    amount_paid: Mapped[Decimal] = money()
    payment_methods: Mapped[str] = mapped_column(String(200), default="")
    payments_seen: Mapped[int] = mapped_column(Integer, default=0)
    paid_on: Mapped[date | None] = mapped_column(Date)  # the latest payment's receipt (payment.received)
    registration_code: Mapped[str | None] = mapped_column(String(9))
    validation_count: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    submitted_at: Mapped[datetime | None] = moment()
    validated_at: Mapped[datetime | None] = moment()
    updated_at: Mapped[datetime] = moment()
    classes: Mapped[list["AdhesionClass"]] = relationship(
        order_by="AdhesionClass.position", cascade="all, delete-orphan", lazy="selectin"
    )


class AdhesionClass(Base):
    __tablename__ = "adhesion_classes"
    id: Mapped[int] = row_id()
    adhesion_id: Mapped[int] = mapped_column(ForeignKey("adhesions.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    teachers: Mapped[str] = mapped_column(String(500), default="")
    teacher_count: Mapped[int] = mapped_column(Integer)
    student_count: Mapped[int] = mapped_column(Integer)


class RegistrationSequence(DepartmentYearCounterMixin, Base):
    __tablename__ = "registration_sequences"
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class ReminderRound(DepartmentYearCounterMixin, Base):
    """How many renewal-reminder rounds the staff sent per department and year."""

    __tablename__ = "reminder_rounds"
    last_round: Mapped[int] = mapped_column(Integer, default=0)


class ReminderDate(Base):
    """A day on which the department's reminder round goes out (set by its staff)."""

    __tablename__ = "reminder_dates"
    department: Mapped[str] = mapped_column(ForeignKey("departments.code"), primary_key=True)
    year: Mapped[str] = school_year(primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # filled by the one beat run that sent it: the primary key makes a second run a no-op
    round: Mapped[int | None] = mapped_column(Integer)
    sent_at: Mapped[datetime | None] = moment()
    count: Mapped[int | None] = mapped_column(Integer)


class OutboxEvent(OutboxRowMixin, Base):
    __tablename__ = "outbox"


class ProcessedEvent(ProcessedEventMixin, Base):
    __tablename__ = "processed_events"
