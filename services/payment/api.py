"""``/api/payment``: payments received by the department and what each cooperative owes."""
from datetime import datetime, timezone

from flask_smorest import Blueprint
from sqlalchemy import select

from services.payment import events
from services.payment.models import Payment
from services.payment.schemas import DuesOut, PaymentFilter, PaymentIn, PaymentList, PaymentRecorded
from services.payment.views import dues_state, find_due
from shared.auth import current_principal, ensure_access, login_required, staff_required
from shared.errors import ApiError, checked_path
from shared.service import after_commit_publish, service

blp = Blueprint("payment", __name__, url_prefix="/api/payment", description="Paiements et montants dus")


@blp.post("/payments")
@staff_required
@blp.arguments(PaymentIn)
@blp.response(201, PaymentRecorded)
def record_payment(data):
    """Record a payment received; the new dues state goes to the adhesion checklist."""
    principal = current_principal()
    number, year = data["cooperative"], data["year"]
    with service().database.session() as session:
        due = find_due(session, number, year, lock=True)
        if due is None:
            raise ApiError(
                409, f"L'adhésion {number} {year} n'a pas encore été saisie : le montant dû n'est pas connu.",
                {"cooperative": ["Aucune adhésion saisie pour cette coopérative et cette année."]},
            )
        ensure_access(principal, due.cooperative, due.department)
        payment = Payment(
            cooperative=number, year=year, department=due.department, amount=data["amount"],
            method=data["method"], reference=(data["reference"] or "").strip(),
            received_on=data["received_on"], recorded_by=principal.login, created_at=datetime.now(timezone.utc),
        )
        session.add(payment)
        session.flush()
        state = dues_state(session, due)
        events.received(session, state)
        answer = {"payment": payment, "dues": state.answer()}
    after_commit_publish()
    return answer


@blp.get("/payments")
@staff_required
@blp.arguments(PaymentFilter, location="query")
@blp.response(200, PaymentList)
def list_payments(filters):
    """The department's payments, optionally of one cooperative and/or year."""
    query = select(Payment).where(Payment.department == current_principal().department)
    if "cooperative" in filters:
        query = query.where(Payment.cooperative == filters["cooperative"])
    if "year" in filters:
        query = query.where(Payment.year == filters["year"])
    with service().database.session() as session:
        return {"items": list(session.scalars(query.order_by(Payment.received_on, Payment.id)))}


@blp.get("/dues/<number>/<year>")
@login_required
@blp.response(200, DuesOut)
def get_dues(number, year):
    """Amount due, paid, balance and status; 404 until the adhesion is submitted."""
    checked_path(number, year)
    principal = current_principal()
    if not principal.is_staff and principal.cooperative != number:
        raise ApiError(403, "Vous n'avez accès qu'à votre coopérative.")
    with service().database.session() as session:
        due = find_due(session, number, year)
        if due is None:
            raise ApiError(404, f"Aucune adhésion {year} saisie pour la coopérative {number}.")
        ensure_access(principal, due.cooperative, due.department)
        return dues_state(session, due).answer()
