"""What an imported bank statement says of the direct debits (docs/sepa.md#5): the credit
of an exported batch turns each of its collections into a payment, and a return or a
reject reverses that payment, read on import without waiting for staff. Called by the
import use case, inside its transaction."""
import logging
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from banking import sepa as checks
from contracts import payment as contracts
from services.payment import sepa_rules
from services.payment.dues import find_due
from services.payment.models import Batch, Collection, Creditor, OutboxEvent, Payment, StatementLine
from services.payment.sepa import collection_event, plan
from services.payment.service import record, reverse
from shared import outbox
from shared.auth import Principal
from shared.errors import DomainError
from shared.service import service

log = logging.getLogger(__name__)
DIRECT_DEBIT = "direct_debit"


def recognise(session: Session, principal: Principal, statement_id: int) -> None:
    department = principal.department
    if session.get(Creditor, department) is None:
        return  # the department does not collect by direct debit
    session.flush()
    lines = list(session.scalars(select(StatementLine).where(StatementLine.statement_id == statement_id)
                                 .order_by(StatementLine.id)))
    returned = False
    # returns first: a reject booked before the batch's credit makes that credit smaller
    for line in lines:
        if line.amount < 0 and sepa_rules.is_return(line.bank_tx_code, line.return_reason):
            returned |= _return(session, principal, line)
    for line in lines:
        if line.amount > 0 and line.status in ("unmatched", "suggested"):
            _credit(session, principal, line)
    if returned:
        plan(session, department, service().settings.sepa_notice_days)


def _credit(session: Session, principal: Principal, line: StatementLine) -> None:
    """A credit equal to what an exported batch still expects, on or after its date."""
    for batch in session.scalars(select(Batch).where(
            Batch.department == line.department, Batch.status == sepa_rules.BATCH_EXPORTED,
            Batch.collection_date <= line.booked_on).order_by(Batch.collection_date).with_for_update()):
        collections = list(session.scalars(select(Collection).where(
            Collection.batch_id == batch.id, Collection.status == sepa_rules.EXPORTED).order_by(Collection.id)))
        if not collections or sum((c.amount for c in collections), Decimal(0)) != line.amount:
            continue
        for collection in collections:
            recorded = record(session, principal, collection.cooperative, collection.year, collection.amount,
                              DIRECT_DEBIT, f"{batch.message_id} {collection.rum}", line.booked_on,
                              statement_line_id=line.id)
            collection.status, collection.payment_id = sepa_rules.PAID, recorded["payment"].id
        batch.status, batch.credited_line_id = sepa_rules.CREDITED, line.id
        line.status, line.decided_by, line.decided_at = "confirmed", principal.login, datetime.now(timezone.utc)
        line.suggestions = "[]"
        return


def _return(session: Session, principal: Principal, line: StatementLine) -> bool:
    """The collection a return names (EndToEndId, else the RUM) is returned: its payment
    reversed with the reason in French, the school and staff emailed."""
    collection = _returned_collection(session, line)
    if collection is None:
        log.warning("statement line %s: direct debit return %s matches no collection", line.id, line.end_to_end_id)
        return False
    code = (line.return_reason or "").upper()
    text = checks.reason_text(code)
    try:
        with session.begin_nested():
            if collection.status == sepa_rules.PAID and collection.payment_id:
                original = session.get(Payment, collection.payment_id)
                reverse(session, principal, original, f"Prélèvement rejeté : {text} ({code or 'sans motif'})",
                        on=line.booked_on)
            collection.status, collection.reason_code, collection.reason = sepa_rules.RETURNED, code[:4], text
    except DomainError as error:  # already reversed by hand: the collection is still marked returned
        log.warning("collection %s: payment not reversed again (%s)", collection.id, error)
        collection.status, collection.reason_code, collection.reason = sepa_rules.RETURNED, code[:4], text
    due = find_due(session, collection.cooperative, collection.year)
    creditor = session.get(Creditor, collection.department)
    collection.notices += 1
    returned = {**collection_event(creditor, due, collection), "reason_code": code, "reason": text,
                "validated": bool(due.validated), "staff_email": due.department_email}
    outbox.record(session, OutboxEvent, contracts.DIRECT_DEBIT_RETURNED, returned)
    if due.department_email:  # one event, one email: staff have theirs
        outbox.record(session, OutboxEvent, contracts.DIRECT_DEBIT_RETURN_FOR_STAFF, returned)
    return True


def _returned_collection(session: Session, line: StatementLine) -> Collection | None:
    sent = (sepa_rules.EXPORTED, sepa_rules.PAID)
    query = select(Collection).where(Collection.department == line.department, Collection.status.in_(sent))
    for column, value in ((Collection.end_to_end_id, line.end_to_end_id), (Collection.rum, line.mandate_id)):
        if value:
            found = list(session.scalars(query.where(column == value).order_by(Collection.id.desc())))
            exact = [c for c in found if c.amount == -line.amount]
            if exact or found:
                return (exact or found)[0]
    return None
