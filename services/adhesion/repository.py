"""Reading and making adhesions in the store, and the domain values they stand for."""
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.adhesion import domain
from services.adhesion.models import Adhesion, AdhesionClass, Cooperative, RateCard
from shared import schoolyear
from shared.errors import NotFound

ZERO = Decimal("0.00")


def rates_of(card: RateCard) -> domain.Rates:
    return domain.Rates(**{name: getattr(card, name) for name in domain.Rates.__dataclass_fields__})


def classes_of(adhesion: Adhesion) -> list[domain.ClassRow]:
    return [
        domain.ClassRow(name=row.name, teachers=row.teachers, teacher_count=row.teacher_count, student_count=row.student_count)
        for row in adhesion.classes
    ]


def totals_for(adhesion: Adhesion) -> domain.Totals:
    return domain.totals_of(classes_of(adhesion))


def amounts_for(adhesion: Adhesion, rates: domain.Rates) -> domain.Amounts:
    return domain.amounts_of(rates, totals_for(adhesion), adhesion.insurance, adhesion.goods_value,
                             adhesion.instruments_value)


def rate_card(session: Session, department: str, year: str) -> RateCard:
    """The department's rates for ``year``; NotFound until its staff set them."""
    card = session.scalars(select(RateCard).where(RateCard.department == department, RateCard.year == year)).first()
    if card is None:
        raise NotFound(f"Les tarifs {year} ne sont pas encore fixés.")
    return card


def find_adhesion(session: Session, number: str, year: str, lock: bool = False) -> Adhesion | None:
    query = select(Adhesion).where(Adhesion.cooperative == number, Adhesion.year == year)
    if lock:
        query = query.with_for_update()
    return session.scalars(query).first()


def new_draft(session: Session, cooperative: Cooperative, year: str) -> Adhesion:
    """An unsaved draft, with last year's classes and insurance answer carried over, counts at zero."""
    previous = find_adhesion(session, cooperative.number, schoolyear.previous(year))
    adhesion = Adhesion(
        cooperative=cooperative.number,
        department=cooperative.department,
        year=year,
        status=domain.DRAFT,
        insurance=previous.insurance if previous else False,
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
        for i, row in enumerate(domain.carried_over(classes_of(previous)) if previous else [])
    ]
    return adhesion
