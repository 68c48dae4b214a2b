"""``/api/ledger``, the year's end (docs/ledger.md#6-the-years-end): the chart's import,
pointage, cash count, closing and the compte rendu financier. Thin routes, as in api.py."""
from datetime import date

from flask_smorest import Blueprint

from services.ledger import chart, domain, export, yearend
from services.ledger import service as ledger
from services.ledger.api import BOOK, book_context, download
from services.ledger.schemas import (
    AttachmentOut,
    CampaignOut,
    CampaignQuery,
    CashCountIn,
    CashCountOut,
    CloseIn,
    ClosingOut,
    ConfirmIn,
    ConfirmOut,
    CrfOut,
    EntryOut,
    ImportQuery,
    PointageIn,
    QuitusIn,
    QuitusOut,
    ReminderIn,
    ReminderOut,
    ReturnIn,
    SettingsIn,
    SettingsOut,
    StatementImportOut,
)
from shared.auth import current_principal, login_required, staff_required
from shared.errors import ApiError, checked_path
from shared.schemas import ImportOut
from shared.service import service
from shared.uploads import file_body

blp = Blueprint("ledger-yearend", __name__, url_prefix="/api/ledger",
                description="Fin d'exercice : pointage, caisse, clôture, compte rendu financier")


MAX_STATEMENT = 10 * 1024 * 1024  # as the payment service's statements (§6)


@blp.post("/categories/import")
@staff_required
@blp.arguments(ImportQuery, location="query")
@blp.response(200, ImportOut)
def import_categories(query):
    """The department's chart from a CSV body ``code;label`` (or a multipart ``file``);
    ``?dry_run=1`` checks only; one bad line refuses the file (422 with every error)."""
    body = file_body(chart.MAX_BYTES, "Le fichier dépasse 2 Mo.")
    return ledger.import_categories(service(), current_principal(), body, query["dry_run"])


@blp.post(f"{BOOK}/entries/<piece>/pointage")
@login_required
@blp.arguments(PointageIn)
@blp.response(200, EntryOut)
def point_entry(data, number, year, piece):
    """Tick a bank entry as seen on the statement on ``on``."""
    return ledger.point_entry(*book_context(number, year), number, year, yearend.checked_piece(piece), data["on"])


@blp.delete(f"{BOOK}/entries/<piece>/pointage")
@login_required
@blp.response(200, EntryOut)
def unpoint_entry(number, year, piece):
    """Untick an entry."""
    return ledger.unpoint_entry(*book_context(number, year), number, year, yearend.checked_piece(piece))


@blp.post(f"{BOOK}/statement")
@login_required
@blp.response(200, StatementImportOut)
def import_statement(number, year):
    """The cooperative's own statement (CAMT.053, OFX, CFONB 120 or CSV; body or multipart
    ``file``, ≤ 10 MB): the pairs it proposes, to confirm."""
    context = book_context(number, year)
    body = file_body(MAX_STATEMENT, "Le relevé dépasse 10 Mo.")
    return ledger.import_statement(*context, number, year, body)


@blp.post(f"{BOOK}/statement/confirm")
@login_required
@blp.arguments(ConfirmIn)
@blp.response(200, ConfirmOut)
def confirm_statement(data, number, year):
    """Tick the entries of the pairs confirmed (one line ↔ one entry)."""
    return ledger.confirm_pairs(*book_context(number, year), number, year, data["pairs"])


@blp.put(f"{BOOK}/cash-count")
@login_required
@blp.arguments(CashCountIn)
@blp.response(200, CashCountOut)
def put_cash_count(data, number, year):
    """The arrêté de caisse: pieces by denomination, against the book's cash at that date."""
    counted = {yearend.denomination(key): count for key, count in data["counted"].items()}
    return ledger.count_cash(*book_context(number, year), number, year, data["date"], counted)


@blp.post(f"{BOOK}/close")
@login_required
@blp.arguments(CloseIn)
@blp.response(200, ClosingOut)
def close(data, number, year):
    """Close the exercise at 31 August; 409 ``{"unmet":[…]}`` among statement_balance,
    reconciliation, cash_count."""
    return ledger.close_book(*book_context(number, year), number, year, data.get("statement_balance"))


@blp.post(f"{BOOK}/reopen")
@staff_required
@blp.response(200, CrfOut)
def reopen(number, year):
    """Staff reopen a closed book (409 once the CRF is received)."""
    return ledger.reopen_book(*book_context(number, year), number, year)


@blp.get(f"{BOOK}/crf")
@login_required
@blp.response(200, CrfOut)
def get_crf(number, year):
    """The compte rendu financier: compte de fonctionnement, bilan, outstanding items,
    subsidies, cash count, quitus, status."""
    return ledger.read_crf(*book_context(number, year), number, year, date.today())


@blp.put(f"{BOOK}/crf/quitus")
@login_required
@blp.arguments(QuitusIn)
@blp.response(200, QuitusOut)
def put_quitus(data, number, year):
    """The mandataire and two vérificateurs aux comptes (distinct, neither the mandataire)."""
    return ledger.set_quitus(*book_context(number, year), number, year, data)


@blp.put(f"{BOOK}/crf/statement")
@login_required
@blp.response(200, AttachmentOut)
def put_crf_statement(number, year):
    """The bank statement at 31 August: PDF, JPEG or PNG (told from the bytes; 415
    otherwise), ≤ 5 MB (413)."""
    context = book_context(number, year)
    body = file_body(yearend.ATTACHMENT_MAX_BYTES, "Le relevé dépasse 5 Mo.")
    return ledger.attach_statement(*context, number, year, body)


@blp.get(f"{BOOK}/crf/statement")
@login_required
@blp.doc(responses={"200": {"description": "Le relevé joint", "content": {
    "application/pdf": {}, "image/jpeg": {}, "image/png": {}}}})
def get_crf_statement(number, year):
    content, media_type, extension = ledger.read_attached_statement(*book_context(number, year), number, year)
    return download(content, media_type, f"releve-{number}-{year}.{extension}", inline=True)


@blp.get(f"{BOOK}/crf.pdf")
@login_required
@blp.doc(responses={"200": {"description": "Le compte rendu financier", "content": {"application/pdf": {}}}})
def get_crf_pdf(number, year):
    return download(ledger.crf_pdf(*book_context(number, year), number, year, date.today()), "application/pdf",
                    f"compte-rendu-financier-{number}-{year}.pdf", inline=True)


@blp.post(f"{BOOK}/crf/submit")
@login_required
@blp.response(200, CrfOut)
def submit_crf(number, year):
    """Send the CRF: 409 ``{"unmet":[…]}`` among closed, quitus, statement."""
    return ledger.submit_crf(*book_context(number, year), number, year, date.today())


@blp.post(f"{BOOK}/crf/receive")
@staff_required
@blp.response(200, CrfOut)
def receive_crf(number, year):
    return ledger.receive_crf(*book_context(number, year), number, year, date.today())


@blp.post(f"{BOOK}/crf/return")
@staff_required
@blp.arguments(ReturnIn)
@blp.response(200, CrfOut)
def return_crf(data, number, year):
    """Back to the school with a message (emailed); the book reopens."""
    return ledger.return_crf(*book_context(number, year), number, year, data["message"], date.today())


def _year(year: str) -> str:
    checked_path(year=year)
    if not domain.has_exercise(year):
        raise ApiError(400, "Adresse invalide.", {"year": ["Année scolaire au format 2025-2026."]})
    return year


@blp.get("/crf/<year>")
@staff_required
@blp.arguments(CampaignQuery, location="query")
@blp.response(200, CampaignOut)
def crf_campaign(query, year):
    """Every cooperative's CRF of the department: status, late, result, closing; counts."""
    return ledger.crf_campaign(service(), current_principal(), _year(year), date.today(), query.get("status"),
                               query.get("late"))


@blp.get("/crf/<year>/aggregate.csv")
@staff_required
@blp.doc(responses={"200": {"description": "Les comptes agrégés (Excel français)", "content": {"text/csv": {}}}})
def aggregate_csv(year):
    body = export.aggregate_csv(ledger.aggregate(service(), current_principal(), _year(year)))
    return download(body, "text/csv; charset=utf-8", f"comptes-agreges-{current_principal().department}-{year}.csv")


@blp.post("/crf/<year>/reminders")
@staff_required
@blp.arguments(ReminderIn)
@blp.response(200, ReminderOut)
def crf_reminders(data, year):
    """A reminder round now, to the department's cooperatives whose CRF is not sent."""
    return ledger.remind_crf(service(), current_principal(), _year(year), data.get("round"))


@blp.get("/settings")
@staff_required
@blp.response(200, SettingsOut)
def get_settings():
    return ledger.read_settings(service(), current_principal())


@blp.put("/settings")
@staff_required
@blp.arguments(SettingsIn)
@blp.response(200, SettingsOut)
def put_settings(data):
    """The department's CRF deadline (MM-DD, 09-30 by default)."""
    month, day = yearend.month_day(data["crf_deadline"], "crf_deadline")
    for value in data.get("crf_reminder_dates", []):
        yearend.month_day(value, "crf_reminder_dates")
    return ledger.set_settings(service(), current_principal(), month, day, data.get("crf_reminder_dates"))
