"""What the payment service holds about a cooperative's people (the name and mailbox its
events gave, cheque drawers, the payer of its bank credits, its SEPA mandates' debtor,
IBAN and address) and their erasure: the amounts, references, RUMs, collections and dates
stay (accounting, ten years); an IBAN keeps its last four characters (docs/audit.md#4-personal-data)."""
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from services.payment.models import Cheque, Collection, Due, Mandate, OutboxEvent, PayerAccount, Payment, StatementLine
from shared.personal_data import ANONYMISED, rows, scrub_outbox, scrub_text
from shared.service import ServiceContext


def _lines(number: str):
    return select(StatementLine).where(StatementLine.id.in_(
        select(Payment.statement_line_id).where(Payment.cooperative == number, Payment.statement_line_id.is_not(None))))


MANDATE_COLUMNS = ("rum", "status", "debtor_name", "iban", "bic", "street", "postcode", "town", "country",
                   "signed_on", "original_iban", "created_at", "ended_at")


def masked(iban: str) -> str:
    """What a statement or a receipt shows of an account: its last four characters."""
    return "*" * max(len(iban) - 4, 0) + iban[-4:] if iban else ""


def _mandates(number: str):
    return select(Mandate).where(Mandate.cooperative == number).order_by(Mandate.id)


def _erase_mandates(session: Session, number: str) -> tuple[int, list[str]]:
    """A mandate in force is revoked (its planned collections withdrawn: no bank file may
    carry an erased debtor), then each mandate, and the amendments its collections carried,
    loses its debtor's name, address and IBAN; the RUM, the BIC (the bank's) and the
    collections stay. Returns how many mandates and the values removed."""
    from services.payment import sepa, sepa_rules

    mandates = list(session.scalars(_mandates(number).with_for_update()))
    removed = []
    for mandate in mandates:
        if mandate.status in (sepa_rules.PENDING, sepa_rules.ACTIVE):
            sepa._end(session, mandate, sepa_rules.REVOKED)
        removed += [mandate.debtor_name, mandate.street, mandate.iban, mandate.original_iban]
        mandate.debtor_name, mandate.street, mandate.postcode, mandate.town = ANONYMISED, ANONYMISED, "", ANONYMISED
        mandate.iban, mandate.original_iban = masked(mandate.iban), masked(mandate.original_iban)
    for collection in session.scalars(select(Collection).where(Collection.cooperative == number,
                                                               Collection.original_iban != "")):
        removed.append(collection.original_iban)
        collection.original_iban = masked(collection.original_iban)
    return len(mandates), removed


def export(ctx: ServiceContext, number: str) -> dict:
    with ctx.database.session() as session:
        return {
            "dues": rows(session, select(Due).where(Due.cooperative == number).order_by(Due.year),
                         ("year", "cooperative_name", "cooperative_email", "amount_due", "registration_code")),
            "payments": rows(session, select(Payment).where(Payment.cooperative == number).order_by(Payment.id),
                             ("year", "amount", "method", "reference", "received_on", "recorded_by", "reason")),
            "cheques": rows(session, select(Cheque).where(Cheque.cooperative == number).order_by(Cheque.id),
                            ("year", "amount", "cheque_number", "bank", "drawer")),
            "statement_lines": rows(session, _lines(number), ("booked_on", "amount", "label", "payer", "payer_iban")),
            "payer_accounts": rows(session, select(PayerAccount).where(PayerAccount.cooperative == number), ("iban",)),
            "sepa_mandates": rows(session, _mandates(number), MANDATE_COLUMNS),
        }


def erase(ctx: ServiceContext, session: Session, number: str) -> None:
    dues = list(session.scalars(select(Due).where(Due.cooperative == number)))
    cheques = list(session.scalars(select(Cheque).where(Cheque.cooperative == number)))
    lines = list(session.scalars(_lines(number)))
    known = [value for due in dues for value in (due.cooperative_name, due.cooperative_email)]
    known += [cheque.drawer for cheque in cheques] + [line.payer for line in lines]
    for due in dues:
        due.cooperative_name, due.cooperative_email = ANONYMISED, ANONYMISED
    for cheque in cheques:
        cheque.drawer = ANONYMISED if cheque.drawer else ""
    for line in lines:
        line.payer, line.payer_iban = ANONYMISED, ""
    mandates, debtor = _erase_mandates(session, number)
    known += [value for value in debtor if len(value) >= 3]  # a bank's return line may name the debtor
    names = [value for value in known if value and value != ANONYMISED]
    if names:  # any other line whose label or suggestions name them (a suggestion lists candidates)
        mentions = [column.contains(name) for name in names for column in
                    (StatementLine.label, StatementLine.payer, StatementLine.suggestions)]
        for line in session.scalars(select(StatementLine).where(or_(*mentions))):
            line.label = scrub_text(line.label, names)
            line.payer = scrub_text(line.payer, names)
            line.suggestions = scrub_text(line.suggestions, names)
    removed = session.execute(delete(PayerAccount).where(PayerAccount.cooperative == number)).rowcount
    scrubbed = scrub_outbox(session, OutboxEvent, names)
    ctx.audit(session, "personal_data.erased", number, {"dues": len(dues), "cheques": len(cheques),
                                                         "statement_lines": len(lines), "payer_accounts": removed,
                                                         "sepa_mandates": mandates, "outbox_rows": scrubbed},
              department=dues[0].department if dues else "")


def apply_retention(ctx: ServiceContext, session: Session, department: str, years: int, day) -> None:
    """The department's dues, payments and cheques of school years over for longer than
    ``years``, and its bank statement lines booked before that year, go (accounting is
    kept ten years by default); slips and statements left empty go with them."""
    from services.payment.models import ChequeSlip, Statement
    from shared import schoolyear
    from shared.personal_data import oldest_kept_year

    kept = oldest_kept_year(day, years)
    first_kept_day = schoolyear.first_day(kept)
    cheques = session.execute(delete(Cheque).where(Cheque.year < kept, Cheque.slip_id.in_(
        select(ChequeSlip.id).where(ChequeSlip.department == department)))).rowcount
    old = (Payment.department == department, Payment.year < kept)
    session.execute(delete(Payment).where(*old, Payment.reverses_id.is_not(None)))  # reversals before originals
    payments = session.execute(delete(Payment).where(*old)).rowcount
    dues = session.execute(delete(Due).where(Due.department == department, Due.year < kept)).rowcount
    lines = session.execute(delete(StatementLine).where(
        StatementLine.department == department, StatementLine.booked_on < first_kept_day)).rowcount
    session.execute(delete(ChequeSlip).where(ChequeSlip.department == department, ChequeSlip.status != "open",
                                             ~ChequeSlip.id.in_(select(Cheque.slip_id))))
    session.execute(delete(Statement).where(Statement.department == department, ~Statement.id.in_(
        select(StatementLine.statement_id))))
    ctx.audit(session, "retention.applied", f"departement:{department}",
              {"payments_removed": payments, "cheques_removed": cheques, "dues_removed": dues,
               "statement_lines_removed": lines, "years_before": kept, "years": years}, department=department)
