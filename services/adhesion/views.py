"""Turning stored rows into domain values and API answers."""
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.adhesion import domain
from services.adhesion.models import Adhesion, AdhesionClass, Cooperative, Department, RateCard

ZERO = Decimal("0.00")


def rates_of(card: RateCard) -> domain.Rates:
    return domain.Rates(**{name: getattr(card, name) for name in domain.Rates.__dataclass_fields__})


def classes_of(adhesion: Adhesion) -> list[domain.ClassRow]:
    return [
        domain.ClassRow(name=row.name, teachers=row.teachers, teacher_count=row.teacher_count, student_count=row.student_count)
        for row in adhesion.classes
    ]


def find_adhesion(session: Session, number: str, year: str, lock: bool = False) -> Adhesion | None:
    query = select(Adhesion).where(Adhesion.cooperative == number, Adhesion.year == year)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def carried_over_classes(session: Session, number: str, year: str) -> list[domain.ClassRow]:
    previous = find_adhesion(session, number, domain.previous_year(year))
    return domain.carried_over(classes_of(previous)) if previous else []


def computed(adhesion: Adhesion, rates: domain.Rates) -> tuple[domain.Totals, domain.Amounts]:
    totals = domain.totals_of(classes_of(adhesion))
    amounts = domain.amounts_of(rates, totals, adhesion.insurance, adhesion.goods_value, adhesion.instruments_value)
    return totals, amounts


def cooperative_data(cooperative: Cooperative) -> dict:
    return {
        "number": cooperative.number,
        "name": cooperative.name,
        "town": cooperative.town,
        "email": cooperative.email,
        "department": cooperative.department,
    }


def department_data(department: Department) -> dict:
    return {
        "code": department.code,
        "name": department.name,
        "insurer": department.insurer,
        "insurer_contract": department.insurer_contract,
        "sender_name": department.sender_name,
        "address": department.address,
        "phone": department.phone,
        "email": department.email,
    }


def new_draft(session: Session, cooperative: Cooperative, year: str) -> Adhesion:
    """An unsaved draft, with last year's classes carried over and counts at zero."""
    adhesion = Adhesion(
        cooperative=cooperative.number,
        department=cooperative.department,
        year=year,
        status=domain.DRAFT,
        insurance=False,
        goods_value=ZERO,
        instruments_value=ZERO,
        pay_transfer=False,
        pay_cheque=False,
        pay_other=False,
        late=False,
        engagement_signed=False,
        change_form="not_required",
        amount_paid=ZERO,
        payment_methods="",
        payments_seen=0,
        validation_count=0,
        revision=0,
    )
    adhesion.classes = [
        AdhesionClass(position=i, name=row.name, teachers=row.teachers, teacher_count=0, student_count=0)
        for i, row in enumerate(carried_over_classes(session, cooperative.number, year))
    ]
    return adhesion


def adhesion_answer(adhesion: Adhesion, cooperative: Cooperative, rates: domain.Rates) -> dict:
    totals, amounts = computed(adhesion, rates)
    return {
        "cooperative": cooperative_data(cooperative),
        "year": adhesion.year,
        "classes": [
            {
                "name": row.name,
                "teachers": row.teachers,
                "teacher_count": row.teacher_count,
                "student_count": row.student_count,
                "total": row.teacher_count + row.student_count,
            }
            for row in adhesion.classes
        ],
        "insurance": adhesion.insurance,
        "goods_value": adhesion.goods_value,
        "instruments_value": adhesion.instruments_value,
        "payment": {"transfer": adhesion.pay_transfer, "cheque": adhesion.pay_cheque, "other": adhesion.pay_other},
        "totals": vars_of(totals),
        "amounts": {**vars_of(amounts), "total": amounts.total},
        "status": adhesion.status,
        "late": adhesion.late,
        "checklist": {
            "payment_received": domain.is_payment_received(adhesion.status, adhesion.amount_paid, amounts.total),
            "amount_due": amounts.total,
            "amount_paid": adhesion.amount_paid,
            "payment_methods": [m for m in adhesion.payment_methods.split(",") if m],
            "engagement_signed": adhesion.engagement_signed,
            "change_form": adhesion.change_form,
        },
        "registration_code": adhesion.registration_code,
        "correction_message": adhesion.correction_message,
        "submitted_at": adhesion.submitted_at,
        "validated_at": adhesion.validated_at,
        "version": adhesion.validation_count,
    }


def vars_of(value) -> dict:
    return {name: getattr(value, name) for name in value.__dataclass_fields__}
