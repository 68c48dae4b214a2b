"""Stored rows as API answers and event data (the output schemas dump these)."""
from sqlalchemy.orm import object_session

from contracts.fields import COOPERATIVE_PARTS
from services.adhesion import domain
from services.adhesion.models import Adhesion, Cooperative, Department
from services.adhesion.repository import amounts_for, totals_for


def cooperative_data(cooperative: Cooperative) -> dict:
    return {part: getattr(cooperative, part) for part in COOPERATIVE_PARTS}


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


def department_contact(department: Department | None) -> dict:
    """What the school's pages show of its association: contact block and payment details."""
    if department is None:
        return {}
    return {**department_data(department), "payee": department.payee, "iban": department.iban, "bic": department.bic,
            "direct_debit": bool(department.direct_debit_offered)}


def adhesion_answer(adhesion: Adhesion, cooperative: Cooperative, rates: domain.Rates) -> dict:
    totals, amounts = totals_for(adhesion), amounts_for(adhesion, rates)
    session = object_session(cooperative)
    department = session.get(Department, cooperative.department) if session else None
    payment = {"transfer": adhesion.pay_transfer, "cheque": adhesion.pay_cheque, "other": adhesion.pay_other}
    # the fourth answer exists where the department offers it (or was given): elsewhere the
    # answer keeps the guide's three questions
    if adhesion.pay_direct_debit or (department is not None and department.direct_debit_offered):
        payment["direct_debit"] = bool(adhesion.pay_direct_debit)
    return {
        "cooperative": cooperative_data(cooperative),
        "department": department_contact(department),
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
        "payment": payment,
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
