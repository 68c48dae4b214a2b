"""Adhesion rules of SPEC §2 as plain Python: totals, amounts, states, codes.

No Flask, no SQLAlchemy: everything here is unit tested without I/O.
"""
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from shared.money import to_cents

DRAFT = "draft"
SUBMITTED = "submitted"
CORRECTION_REQUESTED = "correction_requested"
VALIDATED = "validated"
STATUSES = (DRAFT, SUBMITTED, CORRECTION_REQUESTED, VALIDATED)
EDITABLE = (DRAFT, SUBMITTED, CORRECTION_REQUESTED)

CHANGE_FORM_STATES = ("not_required", "pending", "received")
MAX_COUNT = 5000

REGISTRATION_CODE_RE = re.compile(r"^(\d{2})/(\d{4}) A$")


class RuleBroken(Exception):
    """A domain rule refuses the operation; ``fields`` name what is wrong."""

    def __init__(self, message: str, fields: dict | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


@dataclass(frozen=True)
class Rates:
    fee_per_student: Decimal
    fee_per_adult: Decimal
    fee_per_cooperative: Decimal
    insurance_per_cooperator: Decimal
    goods_threshold: Decimal
    goods_rate: Decimal
    instruments_threshold: Decimal
    instruments_rate: Decimal
    renewal_opens: date
    renewal_closes: date


@dataclass(frozen=True)
class ClassRow:
    name: str
    teachers: str
    teacher_count: int
    student_count: int

    @property
    def total(self) -> int:
        return self.teacher_count + self.student_count


@dataclass(frozen=True)
class Totals:
    teachers: int
    students: int
    cooperators: int


@dataclass(frozen=True)
class Amounts:
    membership: Decimal
    insurance: Decimal
    goods: Decimal
    instruments: Decimal

    @property
    def total(self) -> Decimal:
        return self.membership + self.insurance + self.goods + self.instruments


def previous_year(year: str) -> str:
    first = int(year[:4])
    return f"{first - 1}-{first}"


def totals_of(classes: list[ClassRow]) -> Totals:
    teachers = sum(row.teacher_count for row in classes)
    students = sum(row.student_count for row in classes)
    return Totals(teachers=teachers, students=students, cooperators=teachers + students)


def premium(declared: Decimal, threshold: Decimal, rate: Decimal) -> Decimal:
    """Goods or instruments premium: max(0, declared − threshold) × rate, rounded once."""
    return to_cents(max(Decimal(0), declared - threshold) * rate)


def amounts_of(
    rates: Rates, totals: Totals, insurance: bool, goods_value: Decimal, instruments_value: Decimal
) -> Amounts:
    membership = to_cents(
        totals.students * rates.fee_per_student
        + totals.teachers * rates.fee_per_adult
        + rates.fee_per_cooperative
    )
    if not insurance:  # declared values are kept but not charged
        zero = to_cents(Decimal(0))
        return Amounts(membership=membership, insurance=zero, goods=zero, instruments=zero)
    return Amounts(
        membership=membership,
        insurance=to_cents(totals.cooperators * rates.insurance_per_cooperator),
        goods=premium(goods_value, rates.goods_threshold, rates.goods_rate),
        instruments=premium(instruments_value, rates.instruments_threshold, rates.instruments_rate),
    )


def is_late(rates: Rates, submitted_on: date) -> bool:
    return not (rates.renewal_opens <= submitted_on <= rates.renewal_closes)


def duplicate_class_names(classes: list[ClassRow]) -> list[str]:
    seen, duplicates = set(), []
    for row in classes:
        key = row.name.strip().casefold()
        if key in seen and row.name not in duplicates:
            duplicates.append(row.name)
        seen.add(key)
    return duplicates


def submission_problems(classes: list[ClassRow], payment: dict) -> dict:
    """What stops a submission, by field (empty when it can be submitted)."""
    problems = {}
    if not classes:
        problems["classes"] = ["Ajoutez au moins une classe."]
    elif totals_of(classes).cooperators < 1:
        problems["classes"] = ["Indiquez au moins un coopérateur (enseignant ou élève)."]
    if not any(payment.get(key) for key in ("transfer", "cheque", "other")):
        problems["payment"] = ["Choisissez au moins un moyen de paiement (oui)."]
    return problems


def validation_unmet(
    status: str, amount_paid: Decimal, amount_due: Decimal, engagement_signed: bool, change_form: str
) -> list[str]:
    """The checklist conditions that are not met, in the order of the guide."""
    unmet = []
    if status != SUBMITTED:
        unmet.append("status")
    if amount_paid < amount_due:
        unmet.append("payment")
    if not engagement_signed:
        unmet.append("engagement")
    if change_form == "pending":
        unmet.append("change_form")
    return unmet


def payment_status(amount_due: Decimal, amount_paid: Decimal) -> str:
    if amount_paid <= 0 and amount_due > 0:
        return "unpaid"
    if amount_paid < amount_due:
        return "partial"
    if amount_paid > amount_due:
        return "overpaid"
    return "paid"


def registration_code(year: str, sequence: int) -> str:
    """``YY/NNNN A`` where YY is the last two digits of the school year's second year."""
    return f"{year[-2:]}/{sequence:04d} A"


def registration_code_matches_year(code: str, year: str) -> bool:
    match = REGISTRATION_CODE_RE.match(code or "")
    return bool(match) and match.group(1) == year[-2:] and int(match.group(2)) > 0


def carried_over(previous: list[ClassRow]) -> list[ClassRow]:
    """Last year's class names and teachers, with counts back to zero."""
    return [ClassRow(name=row.name, teachers=row.teachers, teacher_count=0, student_count=0) for row in previous]
