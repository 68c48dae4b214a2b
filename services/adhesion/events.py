"""The events the adhesion service writes to its outbox, with the data consumers need
(no consumer reads this service's tables)."""
from sqlalchemy.orm import Session

from contracts import adhesion as contracts
from services.adhesion import domain
from services.adhesion.answers import cooperative_data, department_contact, department_data, vars_of
from services.adhesion.models import Adhesion, Cooperative, Department, OutboxEvent, RateCard
from services.adhesion.repository import amounts_for, totals_for
from shared import outbox
from shared.money import money_text


def _common(session: Session, adhesion: Adhesion, cooperative: Cooperative) -> dict:
    return {
        "cooperative": cooperative_data(cooperative),
        "department": department_data(session.get(Department, cooperative.department)),
        "year": adhesion.year,
        "revision": adhesion.revision,
    }


def _money(amounts) -> dict:
    return {**{k: money_text(v) for k, v in vars_of(amounts).items()}, "total": money_text(amounts.total)}


def submitted(session: Session, adhesion: Adhesion, cooperative: Cooperative, rates: domain.Rates) -> None:
    totals, amounts = totals_for(adhesion), amounts_for(adhesion, rates)
    outbox.record(session, OutboxEvent, contracts.SUBMITTED, {
        **_common(session, adhesion, cooperative),
        # with how to pay it: the acknowledgement carries the payee, IBAN and BIC
        "department": {key: value for key, value in department_contact(
            session.get(Department, cooperative.department)).items() if key != "direct_debit"},
        "amount_due": money_text(amounts.total),
        "amounts": _money(amounts),
        "totals": vars_of(totals),
        "insurance": adhesion.insurance,
        "payment": {"transfer": adhesion.pay_transfer, "cheque": adhesion.pay_cheque, "other": adhesion.pay_other,
                    "direct_debit": adhesion.pay_direct_debit},
        "late": adhesion.late,
    })


def correction_requested(session: Session, adhesion: Adhesion, cooperative: Cooperative) -> None:
    outbox.record(session, OutboxEvent, contracts.CORRECTION_REQUESTED, {
        **_common(session, adhesion, cooperative),
        "message": adhesion.correction_message,
    })


def validated(session: Session, adhesion: Adhesion, cooperative: Cooperative, rates: domain.Rates) -> None:
    totals, amounts = totals_for(adhesion), amounts_for(adhesion, rates)
    outbox.record(session, OutboxEvent, contracts.VALIDATED, {
        **_common(session, adhesion, cooperative),
        "registration_code": adhesion.registration_code,
        "version": adhesion.validation_count,
        "validated_at": adhesion.validated_at.isoformat(),
        "totals": vars_of(totals),
        "amounts": _money(amounts),
        "amount_paid": money_text(adhesion.amount_paid),
        "payment_methods": [method for method in adhesion.payment_methods.split(",") if method],
        "insurance": adhesion.insurance,
        "goods_value": money_text(adhesion.goods_value),
        "instruments_value": money_text(adhesion.instruments_value),
        "paid_on": adhesion.paid_on.isoformat() if adhesion.paid_on else None,
    })


def reminder_due(session: Session, cooperative: Cooperative, year: str, round_: int, card: RateCard,
                 round_size: int) -> None:
    """Remind a cooperative not renewed for ``year`` (no adhesion, or a draft never sent),
    with the department's own renewal window and how many the round reminds."""
    outbox.record(session, OutboxEvent, contracts.REMINDER_DUE, {
        "cooperative": cooperative_data(cooperative),
        "department": department_data(session.get(Department, cooperative.department)),
        "year": year,
        "round": round_,
        "round_size": round_size,
        "renewal_opens": card.renewal_opens.isoformat(),
        "renewal_closes": card.renewal_closes.isoformat(),
    })


def active_changed(session: Session, cooperative: Cooperative, changed_at) -> None:
    """A cooperative deactivated or activated again (a reminder already queued for it reads this)."""
    outbox.record(session, OutboxEvent, contracts.COOPERATIVE_ACTIVE_CHANGED, {
        "cooperative": cooperative_data(cooperative),
        "active": cooperative.active,
        "changed_at": changed_at.isoformat(),
    })
