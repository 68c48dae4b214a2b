"""Adhesion rules as plain Python (docs/product.md): totals, amounts, states, codes.

No Flask, no SQLAlchemy: everything here is unit tested without I/O. A transition the
rules refuse raises ``Conflict`` (the state forbids it) or ``Invalid`` (the adhesion
lacks something): ``fields`` name what, ``unmet`` the checklist items.
"""
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from shared import schoolyear
from shared.errors import Conflict, Invalid
from shared.money import to_cents

DRAFT = "draft"
SUBMITTED = "submitted"
CORRECTION_REQUESTED = "correction_requested"
VALIDATED = "validated"
STATUSES = (DRAFT, SUBMITTED, CORRECTION_REQUESTED, VALIDATED)
EDITABLE = (DRAFT, SUBMITTED, CORRECTION_REQUESTED)

CHANGE_FORM_STATES = ("not_required", "pending", "received")

REGISTRATION_CODE_RE = re.compile(r"([0-9]{2})/([0-9]{4}) A")  # fullmatch: the whole string

# What a transition causes: the event the service writes to its outbox.
SUBMITTED_EVENT = "submitted"
CORRECTION_REQUESTED_EVENT = "correction_requested"
VALIDATED_EVENT = "validated"


@dataclass(frozen=True)
class Transition:
    """The status an adhesion moves to and the events that move causes."""

    status: str
    events: tuple[str, ...] = ()


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


def a_year_later(day: date) -> date:
    """The same day a year later; a 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def rates_carried_over(previous: dict) -> dict:
    """A new year's rates start from last year's, its renewal window on the same days a year
    later: staff read them, change what changed and save."""
    proposal = dict(previous)
    for name in ("renewal_opens", "renewal_closes"):
        proposal[name] = a_year_later(previous[name])
    return proposal


def renewal_bounds(year: str) -> tuple[date, date]:
    """The days a renewal window of ``year`` may span: from 1 March before the school year
    (six months before its 1 September: some departments open in the spring) to the school
    year's last day, 31 August. ValueError for a year without such days (``0000-0001``)."""
    first, last = schoolyear.years(year)
    return date(first, 3, 1), date(last, 8, 31)


def renewal_window_problems(year: str, opens: date, closes: date) -> dict:
    """What is wrong with a renewal window of ``year``, by field (empty when it is right).
    A window of thousands of years would make every campaign figure walk its days."""
    earliest, latest = renewal_bounds(year)
    span = f"entre le {earliest:%d/%m/%Y} et le {latest:%d/%m/%Y}"
    problems = {}
    if not earliest <= opens <= latest:
        problems["renewal_opens"] = [f"L'ouverture doit tomber {span} (année {year})."]
    if not earliest <= closes <= latest:
        problems["renewal_closes"] = [f"La clôture doit tomber {span} (année {year})."]
    return problems


def renewal_days(year: str, opens: date, closes: date) -> list[date]:
    """Each day of the window, within the year's bounds (a window saved before they were
    checked is cut to them)."""
    try:
        earliest, latest = renewal_bounds(year)
    except ValueError:
        return []
    first, last = max(opens, earliest), min(closes, latest)
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def campaign_days(year: str, opens: date, closes: date, active_days) -> list[date]:
    """The days the campaign's chart covers: the renewal window, stretched to every day
    of the year with a submission or a validation (issue 25: validations after the window
    closed left the chart flat), within the year's bounds."""
    try:
        earliest, latest = renewal_bounds(year)
    except ValueError:
        return []
    active = [day for day in active_days if day is not None and earliest <= day <= latest]
    return renewal_days(year, min([opens, *active]), max([closes, *active]))


def class_key(name: str) -> str:
    """What makes two class names the same: case, surrounding spaces and the Unicode
    form (``École`` precomposed or ``E`` + combining accent) do not count."""
    return unicodedata.normalize("NFC", name).strip().casefold()


def submission_problems(classes: list[ClassRow], payment: dict) -> dict:
    """What stops a submission, by field (empty when it can be submitted)."""
    problems = {}
    if not classes:
        problems["classes"] = ["Ajoutez au moins une classe."]
    elif totals_of(classes).cooperators < 1:
        problems["classes"] = ["Indiquez au moins un coopérateur (enseignant ou élève)."]
    if not any(payment.get(key) for key in ("transfer", "cheque", "other", "direct_debit")):
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


def registration_code(year: str, sequence: int) -> str:
    """``YY/NNNN A`` where YY is the last two digits of the school year's second year."""
    return f"{year[-2:]}/{sequence:04d} A"


def registration_code_matches_year(code: str, year: str) -> bool:
    match = REGISTRATION_CODE_RE.fullmatch(code or "")
    return bool(match) and match.group(1) == year[-2:] and int(match.group(2)) > 0


def carried_over(previous: list[ClassRow]) -> list[ClassRow]:
    """Last year's class names and teachers, with counts back to zero."""
    return [ClassRow(name=row.name, teachers=row.teachers, teacher_count=0, student_count=0) for row in previous]


# --- transitions: each checks the rules and says what the move causes -------------------


def ensure_editable(status: str) -> None:
    if status not in EDITABLE:
        raise Conflict("L'adhésion est validée : elle ne peut plus être modifiée.", {"status": [status]})


def save(status: str, amount_before: Decimal, amount_after: Decimal) -> Transition:
    """The school (or staff) saves the table; a sent adhesion whose amount changed is sent again."""
    ensure_editable(status)
    changed = status == SUBMITTED and amount_after != amount_before
    return Transition(status, (SUBMITTED_EVENT,) if changed else ())


def submit(status: str, classes: list[ClassRow], payment: dict) -> Transition:
    if status == VALIDATED:
        raise Conflict("L'adhésion est déjà validée.", {"status": [status]})
    if status == SUBMITTED:
        return Transition(SUBMITTED)  # sent twice: nothing new happens
    problems = submission_problems(classes, payment)
    if problems:
        raise Invalid("L'adhésion n'est pas complète.", problems)
    return Transition(SUBMITTED, (SUBMITTED_EVENT,))


def request_correction(status: str) -> Transition:
    if status != SUBMITTED:
        raise Conflict("Seule une adhésion saisie peut être renvoyée pour correction.", {"status": [status]})
    return Transition(CORRECTION_REQUESTED, (CORRECTION_REQUESTED_EVENT,))


def validate(status: str, amount_paid: Decimal, amount_due: Decimal, engagement_signed: bool,
             change_form: str) -> Transition:
    """Validating a validated adhesion changes nothing and causes nothing."""
    if status == VALIDATED:
        return Transition(VALIDATED)
    unmet = validation_unmet(status, amount_paid, amount_due, engagement_signed, change_form)
    if unmet:
        raise Conflict("Des conditions de validation ne sont pas remplies.", unmet=unmet)
    return Transition(VALIDATED, (VALIDATED_EVENT,))


def reopen(status: str) -> Transition:
    if status != VALIDATED:
        raise Conflict("Seule une adhésion validée peut être rouverte.", {"status": [status]})
    return Transition(SUBMITTED)


def is_payment_received(status: str, amount_paid: Decimal, amount_due: Decimal) -> bool:
    """Checklist item 1: paid at least what is due (partial is not paid)."""
    return status != DRAFT and amount_paid >= amount_due


# -- which department a cooperative number belongs to ------------------------------------
#
# A number is the school's UAI + a 2-digit account; the UAI starts with its department on
# three characters: 038 for Isère, 974 for La Réunion, 620 / 720 for Corsica (2A / 2B).

UAI_PREFIXES = {"2A": "620", "2B": "720"}


def uai_prefix(department: str) -> str:
    return UAI_PREFIXES.get(department, department.zfill(3))


def department_of_number(number: str, departments) -> str | None:
    """The department of the install whose UAI prefix the number starts with, if any."""
    for code in departments:
        if number.upper().startswith(uai_prefix(code)):
            return code
    return None


def other_department_problem(number: str, own: str, departments: dict[str, str]) -> str | None:
    """A number that names another department of the install (Rhône staff typing an Isère
    school's number): the French sentence saying so; None when it is the department's own
    or names no department of the install (private schools, numbers of other shapes)."""
    code = department_of_number(number, departments)
    if code is None or code == own:
        return None
    return (f"Ce numéro commence par {uai_prefix(code)} : c'est celui d'une école du département {code} "
            f"({departments[code]}), pas du vôtre. Vérifiez le numéro ; si c'est bien une coopérative de votre "
            "département, seul l'administrateur national peut la créer.")
