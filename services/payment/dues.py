"""The dues of a cooperative for a school year as stored: the row, its payments, and the
state they add up to (answered by the API and carried by ``payment.received``)."""
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.payment import domain
from services.payment.models import Collection, Due, Payment


@dataclass(frozen=True)
class DuesState:
    cooperative: str
    year: str
    department: str
    amount_due: Decimal
    amount_paid: Decimal
    payments_count: int
    methods: list[str]
    validated: bool = False
    debit_rejected: str = ""  # the French reason of the latest collection, when the bank returned it

    @property
    def reference(self) -> str:
        return domain.payment_reference(self.cooperative, self.year)

    @property
    def attention(self) -> str:
        """A validated adhesion whose payment was reversed stays validated: staff are told."""
        if self.validated and self.debit_rejected and self.status in (domain.UNPAID, domain.PARTIAL):
            return f"Adhésion validée, prélèvement rejeté ({self.debit_rejected}) : à régulariser."
        if self.validated and self.status in (domain.UNPAID, domain.PARTIAL):
            return "Adhésion validée dont le paiement n'est plus complet (paiement annulé) : à régulariser."
        return ""

    @property
    def balance(self) -> Decimal:
        return domain.balance(self.amount_due, self.amount_paid)

    @property
    def status(self) -> str:
        return domain.payment_status(self.amount_due, self.amount_paid)

    def answer(self) -> dict:
        return {
            "cooperative": self.cooperative,
            "year": self.year,
            "amount_due": self.amount_due,
            "amount_paid": self.amount_paid,
            "balance": self.balance,
            "status": self.status,
            "payments_count": self.payments_count,
            "methods": self.methods,
            "reference": self.reference,
            "reference_display": domain.format_reference(self.reference),
            "validated": self.validated,
            "attention": self.attention,
            # only after a returned direct debit: the answer of every other due is unchanged
            **({"debit_rejected": self.debit_rejected} if self.debit_rejected else {}),
        }


def find_due(session: Session, number: str, year: str, lock: bool = False) -> Due | None:
    query = select(Due).where(Due.cooperative == number, Due.year == year)
    if lock:  # concurrent payments of one cooperative queue here (SQLite: BEGIN IMMEDIATE)
        query = query.with_for_update()
    return session.scalars(query).first()


def payments_of(session: Session, number: str, year: str) -> list[Payment]:
    return list(session.scalars(
        select(Payment).where(Payment.cooperative == number, Payment.year == year).order_by(Payment.id)
    ))


def dues_state(session: Session, due: Due) -> DuesState:
    # summed in Python: SQLite keeps exact decimals as text, SUM() would go through floats
    payments = payments_of(session, due.cooperative, due.year)
    return DuesState(
        cooperative=due.cooperative,
        year=due.year,
        department=due.department,
        amount_due=due.amount_due,
        amount_paid=domain.total_paid(p.amount for p in payments),
        payments_count=len(payments),
        methods=domain.distinct_methods(p.method for p in payments),
        validated=bool(due.validated),
        debit_rejected=_debit_rejected(session, due),
    )


def _debit_rejected(session: Session, due: Due) -> str:
    if not due.direct_debit:
        return ""
    # a presentation planned again after an AM04 leaves the rejection standing until it is paid
    latest = session.scalars(select(Collection).where(
        Collection.cooperative == due.cooperative, Collection.year == due.year, Collection.status != "planned")
        .order_by(Collection.id.desc())).first()
    return latest.reason if latest is not None and latest.status == "returned" else ""
