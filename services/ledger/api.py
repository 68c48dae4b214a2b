"""``/api/ledger``: the school's cahier de comptes (docs/ledger.md#5-the-calls). Thin routes:
parse, call a use case of service.py, answer."""
from datetime import date

from flask import Response
from flask_smorest import Blueprint

from services.ledger import domain, export
from services.ledger import personal_data as personal
from services.ledger import service as ledger
from services.ledger.schemas import (
    AdhesionEntryIn,
    AdhesionEntryOut,
    BookOut,
    CategoryIn,
    CategoryList,
    CategoryOut,
    EntryIn,
    EntryOut,
    OpeningIn,
)
from shared.auth import current_principal, login_required
from shared.errors import ApiError, checked_path
from shared.openapi import link, links
from shared.personal_data import internal_route
from shared.service import service

blp = Blueprint("ledger", __name__, url_prefix="/api/ledger", description="Cahier de comptes de la coopérative")
BOOK = "/books/<number>/<year>"


def book_context(number: str, year: str):
    checked_path(number, year)
    if not domain.has_exercise(year):
        raise ApiError(400, "Adresse invalide.", {"year": ["Année scolaire hors des limites du calendrier."]})
    return service(), current_principal()


def download(body: bytes, content_type: str, filename: str, inline: bool = False) -> Response:
    """A file of the book's (CSV, PDF, the attached statement): private, never cached."""
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@blp.get(BOOK)
@login_required
@blp.response(200, BookOut)
def get_book(number, year):
    """The book of the exercise: opening balances, entries, balances; ``empty`` when no entry."""
    return ledger.read_book(*book_context(number, year), number, year)


@blp.put(f"{BOOK}/opening")
@login_required
@blp.arguments(OpeningIn)
@blp.response(200, BookOut)
def put_opening(data, number, year):
    """The *report à nouveau* of the bank account and the cash box (the school only)."""
    return ledger.set_opening(*book_context(number, year), number, year, data["bank"], data["cash"])


@blp.post(f"{BOOK}/entries")
@login_required
@blp.arguments(EntryIn)
@blp.response(201, EntryOut)
@blp.doc(**links(201, PointThisEntry=link("post", "/api/ledger/books/{number}/{year}/entries/{piece}/pointage", "Pointer l'écriture sur le relevé", number="$request.path.number", year="$request.path.year", piece="$response.body#/piece"),
                 UnpointThisEntry=link("delete", "/api/ledger/books/{number}/{year}/entries/{piece}/pointage", "Dépointer l'écriture", number="$request.path.number", year="$request.path.year", piece="$response.body#/piece")))
def post_entry(data, number, year):
    """A new entry, numbered D01… (expense) or R01… (income); allocations add up to the amount."""
    return ledger.add_entry(*book_context(number, year), number, year, data)


@blp.get(f"{BOOK}/adhesion-entry")
@login_required
@blp.response(200, AdhesionEntryOut)
def get_adhesion_entry(number, year):
    """The entry proposed from the validated adhesion; 404 before validation."""
    return ledger.read_adhesion_entry(*book_context(number, year), number, year, date.today())


@blp.post(f"{BOOK}/adhesion-entry")
@login_required
@blp.arguments(AdhesionEntryIn)
@blp.response(201, EntryOut)
def post_adhesion_entry(data, number, year):
    """Write the proposed adhesion entry into the book, once (409 the second time)."""
    return ledger.write_adhesion_entry(*book_context(number, year), number, year, data, date.today())


@blp.get(f"{BOOK}/export.csv")
@login_required
@blp.doc(responses={"200": {"description": "Le cahier au format CSV (Excel français)", "content": {"text/csv": {}}}})
def export_csv(number, year):
    book = ledger.read_book(*book_context(number, year), number, year)
    return download(export.book_csv(book), "text/csv; charset=utf-8", export.filename(number, year))


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


internal_route(blp, personal.export)  # GET …/internal/personal-data/<number>
