"""The cheque remittance slip use cases (*bordereaux de remise de chèques*): open a slip,
add cheques (each one's payment recorded at once), close it, print it. A closed slip
waits for its bank credit, which ``reconciliation.py`` matches and marks ``banked``."""
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.payment import printing
from services.payment.models import Cheque, ChequeSlip, Statement
from services.payment.service import ensure_department, record
from shared.auth import Principal
from shared.errors import Conflict, NotFound
from shared.money import to_cents
from shared.service import ServiceContext

CHEQUE_FIELDS = ("cooperative", "year", "amount", "cheque_number", "bank", "drawer")


def open_slip(ctx: ServiceContext, principal: Principal, account: str | None = None) -> dict:
    """A new open slip, numbered in the department's sequence; without an account, the
    account of the department's latest statement."""
    for attempt in range(5):  # two staff opening a slip at once: the second takes the next number
        try:
            with ctx.database.session() as session:
                if account is None:
                    account = session.scalars(select(Statement.account).where(
                        Statement.department == principal.department, Statement.account != "")
                        .order_by(Statement.id.desc())).first() or ""
                slip = ChequeSlip(department=principal.department, number=next_number(
                    session, principal.department, date.today()), account=account, status="open",
                    created_by=principal.login, created_at=datetime.now(timezone.utc))
                session.add(slip)
                session.flush()
                ctx.audit(session, "slip.opened", f"bordereau:{slip.number}", {"slip": slip.id})
            return {"id": slip.id, "number": slip.number, "status": slip.status, "account": slip.account,
                    "count": 0, "total": 0, "created_at": slip.created_at, "created_by": slip.created_by}
        except IntegrityError:
            if attempt == 4:
                raise


def list_slips(ctx: ServiceContext, principal: Principal) -> list[dict]:
    with ctx.database.session() as session:
        return [summary(session, s) for s in session.scalars(
            select(ChequeSlip).where(ChequeSlip.department == principal.department).order_by(ChequeSlip.id.desc()))]


def get_slip(ctx: ServiceContext, principal: Principal, slip_id: int) -> dict:
    with ctx.database.session() as session:
        return summary(session, _slip(session, principal, slip_id), with_cheques=True)


def add_cheque(ctx: ServiceContext, principal: Principal, slip_id: int, cheque: dict) -> dict:
    """A cheque joins an open slip and its payment is recorded at once."""
    with ctx.database.session() as session:
        slip = _slip(session, principal, slip_id, lock=True)
        if slip.status != "open":
            raise Conflict("Ce bordereau est clos : ouvrez-en un nouveau.")
        recorded = record(session, principal, cheque["cooperative"], cheque["year"], cheque["amount"], "cheque",
                          cheque["cheque_number"], date.today())
        row = Cheque(slip_id=slip.id, payment_id=recorded["payment"].id, cooperative=cheque["cooperative"],
                     year=cheque["year"], amount=cheque["amount"], cheque_number=cheque["cheque_number"],
                     bank=cheque.get("bank") or "", drawer=cheque.get("drawer") or "")
        session.add(row)
        session.flush()
        answer = {"id": row.id, "slip": slip.id, "payment": recorded["payment"].id, "dues": recorded["dues"],
                  **{k: getattr(row, k) for k in CHEQUE_FIELDS}}
    ctx.publish()
    return answer


def close_slip(ctx: ServiceContext, principal: Principal, slip_id: int) -> dict:
    with ctx.database.session() as session:
        slip = _slip(session, principal, slip_id, lock=True)
        if slip.status != "open":
            raise Conflict("Ce bordereau est déjà clos.")
        if not cheques_of(session, slip):
            raise Conflict("Un bordereau sans chèque ne se clôt pas.")
        slip.status, slip.closed_at = "closed", datetime.now(timezone.utc)
        ctx.audit(session, "slip.closed", f"bordereau:{slip.number}", {"slip": slip.id, "status": {"before": "open", "after": "closed"}})
        return summary(session, slip)


def slip_pdf(ctx: ServiceContext, principal: Principal, slip_id: int) -> tuple[str, bytes]:
    """The file name and the PDF of a closed slip, to print and bring to the bank."""
    with ctx.database.session() as session:
        slip = _slip(session, principal, slip_id)
        if slip.status == "open":
            raise Conflict("Clôturez le bordereau avant de l'imprimer.")
        return f"bordereau-{slip.number}.pdf", printing.render_pdf(session, slip, cheques_of(session, slip))


def _slip(session: Session, principal: Principal, slip_id: int, lock: bool = False) -> ChequeSlip:
    query = select(ChequeSlip).where(ChequeSlip.id == slip_id)
    slip = session.scalars(query.with_for_update() if lock else query).first()
    if slip is None:
        raise NotFound("Bordereau introuvable.")
    ensure_department(principal, slip.department)
    return slip


def next_number(session: Session, department: str, today: date) -> str:
    """``2025-0007``: the year and the department's sequence within it (unique per department)."""
    prefix = f"{today.year}-"
    count = session.scalar(select(func.count()).select_from(ChequeSlip).where(
        ChequeSlip.department == department, ChequeSlip.number.like(prefix + "%")))
    return f"{prefix}{count + 1:04d}"


def cheques_of(session: Session, slip: ChequeSlip) -> list[Cheque]:
    return list(session.scalars(select(Cheque).where(Cheque.slip_id == slip.id).order_by(Cheque.id)))


def total_of(session: Session, slip: ChequeSlip) -> Decimal:
    return to_cents(sum((c.amount for c in cheques_of(session, slip)), Decimal(0)))


def summary(session: Session, slip: ChequeSlip, with_cheques: bool = False) -> dict:
    cheques = cheques_of(session, slip)
    answer = {"id": slip.id, "number": slip.number, "status": slip.status, "account": slip.account,
              "count": len(cheques), "total": to_cents(sum((c.amount for c in cheques), Decimal(0))),
              "created_at": slip.created_at, "closed_at": slip.closed_at, "created_by": slip.created_by}
    if with_cheques:
        answer["cheques"] = [{"id": c.id, **{k: getattr(c, k) for k in CHEQUE_FIELDS}} for c in cheques]
    return answer
