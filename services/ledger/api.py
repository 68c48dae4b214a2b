"""``/api/ledger``: the school's cahier de comptes (docs/ledger.md#5-the-calls). Thin routes:
parse, call a use case of service.py, answer."""
from datetime import date
from decimal import Decimal

from flask import Response, request
from flask_smorest import Blueprint
from werkzeug.exceptions import RequestEntityTooLarge

from services.ledger import chart, crf_pdf, domain, export, yearend
from services.ledger import personal_data as personal
from services.ledger import service as ledger
from services.ledger.schemas import (
    AdhesionEntryIn,
    AdhesionEntryOut,
    AttachmentOut,
    BookOut,
    CampaignOut,
    CampaignQuery,
    CashCountIn,
    CashCountOut,
    CategoryIn,
    CategoryList,
    CategoryOut,
    CloseIn,
    ClosingOut,
    ConfirmIn,
    ConfirmOut,
    CrfOut,
    EntryIn,
    EntryOut,
    ImportOut,
    ImportQuery,
    OpeningIn,
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
from shared.personal_data import internal_route
from shared.service import service

blp = Blueprint("ledger", __name__, url_prefix="/api/ledger", description="Cahier de comptes de la coopérative")
BOOK = "/books/<number>/<year>"


def _context(number: str, year: str):
    checked_path(number, year)
    if not domain.has_exercise(year):
        raise ApiError(400, "Adresse invalide.", {"year": ["Année scolaire hors des limites du calendrier."]})
    return service(), current_principal()


@blp.get(BOOK)
@login_required
@blp.response(200, BookOut)
def get_book(number, year):
    """The book of the exercise: opening balances, entries, balances; ``empty`` when no entry."""
    return ledger.read_book(*_context(number, year), number, year)


@blp.put(f"{BOOK}/opening")
@login_required
@blp.arguments(OpeningIn)
@blp.response(200, BookOut)
def put_opening(data, number, year):
    """The *report à nouveau* of the bank account and the cash box (the school only)."""
    return ledger.set_opening(*_context(number, year), number, year, data["bank"], data["cash"])


@blp.post(f"{BOOK}/entries")
@login_required
@blp.arguments(EntryIn)
@blp.response(201, EntryOut)
def post_entry(data, number, year):
    """A new entry, numbered D01… (expense) or R01… (income); allocations add up to the amount."""
    return ledger.add_entry(*_context(number, year), number, year, data)


@blp.get(f"{BOOK}/adhesion-entry")
@login_required
@blp.response(200, AdhesionEntryOut)
def get_adhesion_entry(number, year):
    """The entry proposed from the validated adhesion; 404 before validation."""
    return ledger.read_adhesion_entry(*_context(number, year), number, year, date.today())


@blp.post(f"{BOOK}/adhesion-entry")
@login_required
@blp.arguments(AdhesionEntryIn)
@blp.response(201, EntryOut)
def post_adhesion_entry(data, number, year):
    """Write the proposed adhesion entry into the book, once (409 the second time)."""
    return ledger.write_adhesion_entry(*_context(number, year), number, year, data, date.today())


@blp.get(f"{BOOK}/export.csv")
@login_required
@blp.doc(responses={"200": {"description": "Le cahier au format CSV (Excel français)", "content": {"text/csv": {}}}})
def export_csv(number, year):
    book = ledger.read_book(*_context(number, year), number, year)
    response = Response(export.book_csv(book), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{export.filename(number, year)}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.get("/categories")
@login_required
@blp.response(200, CategoryList)
def get_categories():
    """The department's chart of accounts: OCCE's accounts and the department's own."""
    return {"items": ledger.categories(service(), current_principal())}


@blp.post("/categories")
@login_required
@blp.arguments(CategoryIn)
@blp.response(201, CategoryOut)
def post_category(data):
    """Staff add an account to their department's chart."""
    return ledger.add_category(service(), current_principal(), data["code"], data["label"])


# -- the year's end (docs/ledger.md#6-the-years-end) ----------------------------------------

MAX_STATEMENT = 10 * 1024 * 1024  # as the payment service's statements (§6)


def _file_body(limit: int, too_large: str) -> bytes:
    """The file of a route allowed past the 256 KB of JSON calls: the raw body, or a
    multipart ``file``; 413 over ``limit``."""
    if (request.content_length or 0) > limit + 64 * 1024:
        raise ApiError(413, too_large)
    request.max_content_length = limit + 64 * 1024
    try:
        if request.mimetype == "multipart/form-data":
            upload = request.files.get("file")
            if upload is None:
                raise ApiError(422, "Joignez le fichier (champ « file »).", {"file": ["Champ obligatoire."]})
            body = upload.read(limit + 1)
        else:
            body = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise ApiError(413, too_large) from None
    if len(body) > limit:
        raise ApiError(413, too_large)
    return body


@blp.post("/categories/import")
@staff_required
@blp.arguments(ImportQuery, location="query")
@blp.response(200, ImportOut)
def import_categories(query):
    """The department's chart from a CSV body ``code;label`` (or a multipart ``file``);
    ``?dry_run=1`` checks only; one bad line refuses the file (422 with every error)."""
    body = _file_body(chart.MAX_BYTES, "Le fichier dépasse 2 Mo.")
    return ledger.import_categories(service(), current_principal(), body, query["dry_run"])


@blp.post(f"{BOOK}/entries/<piece>/pointage")
@login_required
@blp.arguments(PointageIn)
@blp.response(200, EntryOut)
def point_entry(data, number, year, piece):
    """Tick a bank entry as seen on the statement on ``on``."""
    return ledger.point_entry(*_context(number, year), number, year, _piece(piece), data["on"])


@blp.delete(f"{BOOK}/entries/<piece>/pointage")
@login_required
@blp.response(200, EntryOut)
def unpoint_entry(number, year, piece):
    """Untick an entry."""
    return ledger.unpoint_entry(*_context(number, year), number, year, _piece(piece))


def _piece(piece: str) -> str:
    if not (2 < len(piece) <= 8 and piece[0] in "DR" and piece[1:].isascii() and piece[1:].isdigit()):
        raise ApiError(400, "Adresse invalide.", {"piece": ["Une pièce D01… ou R01…"]})
    return piece


@blp.post(f"{BOOK}/statement")
@login_required
@blp.response(200, StatementImportOut)
def import_statement(number, year):
    """The cooperative's own statement (CAMT.053, OFX, CFONB 120 or CSV; body or multipart
    ``file``, ≤ 10 MB): the pairs it proposes, to confirm."""
    context = _context(number, year)
    body = _file_body(MAX_STATEMENT, "Le relevé dépasse 10 Mo.")
    return ledger.import_statement(*context, number, year, body)


@blp.post(f"{BOOK}/statement/confirm")
@login_required
@blp.arguments(ConfirmIn)
@blp.response(200, ConfirmOut)
def confirm_statement(data, number, year):
    """Tick the entries of the pairs confirmed (one line ↔ one entry)."""
    return ledger.confirm_pairs(*_context(number, year), number, year, data["pairs"])


@blp.put(f"{BOOK}/cash-count")
@login_required
@blp.arguments(CashCountIn)
@blp.response(200, CashCountOut)
def put_cash_count(data, number, year):
    """The arrêté de caisse: pieces by denomination, against the book's cash at that date."""
    counted = {yearend.denomination(key): count for key, count in data["counted"].items()}
    return ledger.count_cash(*_context(number, year), number, year, data["date"], counted)


@blp.post(f"{BOOK}/close")
@login_required
@blp.arguments(CloseIn)
@blp.response(200, ClosingOut)
def close(data, number, year):
    """Close the exercise at 31 August; 409 ``{"unmet":[…]}`` among statement_balance,
    reconciliation, cash_count."""
    balance = data.get("statement_balance")
    return ledger.close_book(*_context(number, year), number, year, Decimal(balance) if balance is not None else None)


@blp.post(f"{BOOK}/reopen")
@staff_required
@blp.response(200, CrfOut)
def reopen(number, year):
    """Staff reopen a closed book (409 once the CRF is received)."""
    return ledger.reopen_book(*_context(number, year), number, year)


@blp.get(f"{BOOK}/crf")
@login_required
@blp.response(200, CrfOut)
def get_crf(number, year):
    """The compte rendu financier: compte de fonctionnement, bilan, outstanding items,
    subsidies, cash count, quitus, status."""
    return ledger.read_crf(*_context(number, year), number, year, date.today())


@blp.put(f"{BOOK}/crf/quitus")
@login_required
@blp.arguments(QuitusIn)
@blp.response(200, QuitusOut)
def put_quitus(data, number, year):
    """The mandataire and two vérificateurs aux comptes (distinct, neither the mandataire)."""
    return ledger.set_quitus(*_context(number, year), number, year, data)


@blp.put(f"{BOOK}/crf/statement")
@login_required
@blp.response(200, AttachmentOut)
def put_crf_statement(number, year):
    """The bank statement at 31 August: PDF, JPEG or PNG (told from the bytes; 415
    otherwise), ≤ 5 MB (413)."""
    context = _context(number, year)
    body = _file_body(yearend.ATTACHMENT_MAX_BYTES, "Le relevé dépasse 5 Mo.")
    return ledger.attach_statement(*context, number, year, body)


@blp.get(f"{BOOK}/crf/statement")
@login_required
@blp.doc(responses={"200": {"description": "Le relevé joint", "content": {
    "application/pdf": {}, "image/jpeg": {}, "image/png": {}}}})
def get_crf_statement(number, year):
    content, media_type, extension = ledger.read_attached_statement(*_context(number, year), number, year)
    response = Response(content, mimetype=media_type)
    response.headers["Content-Disposition"] = f'inline; filename="releve-{number}-{year}.{extension}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.get(f"{BOOK}/crf.pdf")
@login_required
@blp.doc(responses={"200": {"description": "Le compte rendu financier", "content": {"application/pdf": {}}}})
def get_crf_pdf(number, year):
    today = date.today()
    crf, department_name = ledger.crf_document(*_context(number, year), number, year, today)
    response = Response(crf_pdf.pdf(crf, department_name, today), mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="compte-rendu-financier-{number}-{year}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blp.post(f"{BOOK}/crf/submit")
@login_required
@blp.response(200, CrfOut)
def submit_crf(number, year):
    """Send the CRF: 409 ``{"unmet":[…]}`` among closed, quitus, statement."""
    return ledger.submit_crf(*_context(number, year), number, year, date.today())


@blp.post(f"{BOOK}/crf/receive")
@staff_required
@blp.response(200, CrfOut)
def receive_crf(number, year):
    return ledger.receive_crf(*_context(number, year), number, year, date.today())


@blp.post(f"{BOOK}/crf/return")
@staff_required
@blp.arguments(ReturnIn)
@blp.response(200, CrfOut)
def return_crf(data, number, year):
    """Back to the school with a message (emailed); the book reopens."""
    return ledger.return_crf(*_context(number, year), number, year, data["message"], date.today())


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
    principal = current_principal()
    response = Response(body, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="comptes-agreges-{principal.department}-{year}.csv"')
    response.headers["Cache-Control"] = "private, no-store"
    return response


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
    for field, values in (("crf_deadline", [data["crf_deadline"]]),
                          ("crf_reminder_dates", data.get("crf_reminder_dates", []))):
        for value in values:
            try:
                date(2001, *(int(part) for part in value.split("-")))  # not 29 February: every year has the day
            except ValueError:
                raise ApiError(422, "Date invalide.", {field: [f"Le {value} n'existe pas chaque année."]}) from None
    month, day = (int(part) for part in data["crf_deadline"].split("-"))
    return ledger.set_settings(service(), current_principal(), month, day, data.get("crf_reminder_dates"))


internal_route(blp, personal.export)  # GET …/internal/personal-data/<number>
