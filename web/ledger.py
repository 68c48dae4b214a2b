"""The cahier de comptes pages: the school keeps its book (entries, opening balances, the
adhesion written in one click, the CSV export); staff read their department's books."""
from datetime import date
from decimal import Decimal

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for

from web import client, forms, pages
from web.client import ApiFailure
from web.formatting import amount_input, campaign_year
from web.security import school_required, staff_required

bp = Blueprint("ledger", __name__)

METHODS = {
    "cheque": "chèque", "transfer": "virement", "direct_debit": "prélèvement", "card": "carte bancaire",
    "cash": "espèces", "collect": "collecte", "mairie": "mairie", "sou_des_ecoles": "sou des écoles", "other": "autre",
}
ACCOUNTS = {"bank": "Banque", "cash": "Caisse"}
DIRECTIONS = {"expense": "Dépense", "income": "Recette"}
ALLOCATION_ROWS = 3
ENTRY_FIELDS = ("date", "label", "direction", "account", "method", "cheque_number", "voucher", "amount", "payer")


def book_path(number: str, year: str, action: str = "") -> str:
    return f"/api/ledger/books/{number}/{year}" + (f"/{action}" if action else "")


def adhesion_entry(number: str, year: str) -> dict | None:
    """The adhesion entry proposed in the book, for the green frame; None until the ledger
    has it (or while it cannot be reached: the adhesion page still shows)."""
    return client.get_or_none(book_path(number, year, "adhesion-entry"), also=(502, 503))


def number() -> str:
    return session["cooperative"]


def blank_entry(exercise: dict) -> dict:
    """A new entry of the book, dated today brought inside the book's exercise."""
    start, end = date.fromisoformat(exercise["start"]), date.fromisoformat(exercise["end"])
    return {"date": min(max(date.today(), start), end).isoformat(), "label": "", "direction": "expense",
            "account": "bank", "method": "cheque", "cheque_number": "", "voucher": "", "amount": "", "payer": "",
            "allocations": [{"category": "", "amount": ""} for _ in range(ALLOCATION_ROWS)]}


def render_book(number_: str, year: str, editable: bool, entry: dict | None = None, opening: dict | None = None,
                errors: dict | None = None, problem: str | None = None, status: int = 200):
    book = client.get(book_path(number_, year))
    categories = client.get("/api/ledger/categories")["items"]
    proposal = adhesion_entry(number_, year) if editable else None
    opening_form = opening or {key: amount_input(value) for key, value in book["opening"].items()}
    return render_template(
        "ledger/book.html", year=year, number=number_, book=book, editable=editable, categories=categories,
        entry=entry or blank_entry(book["exercise"]), opening=opening_form, errors=errors or {}, problem=problem,
        proposal=proposal, methods=METHODS, accounts=ACCOUNTS, directions=DIRECTIONS,
        totals=_totals(book["entries"]),
    ), status


def _totals(entries: list[dict]) -> dict:
    totals = {(account, direction): Decimal(0) for account in ACCOUNTS for direction in DIRECTIONS}
    for entry in entries:
        totals[(entry["account"], entry["direction"])] += Decimal(entry["amount"])
    return {f"{account}_{direction}": value for (account, direction), value in totals.items()}


@bp.get("/cahier")
@school_required
def book_current():
    return redirect(url_for("ledger.book", year=campaign_year()))


@bp.get("/cahier/<year>")
@school_required
def book(year):
    pages.checked(year=year)
    return render_book(number(), year, editable=True)


@bp.post("/cahier/<year>/report")
@school_required
def opening(year):
    pages.checked(year=year)
    typed = {key: request.form.get(f"opening-{key}", "") for key in ("bank", "cash")}
    try:
        client.put(book_path(number(), year, "opening"),
                   json={key: forms.money_value(value) for key, value in typed.items()})
    except ApiFailure as failure:
        if failure.status != 422:
            raise
        errors = {f"opening-{key}": value for key, value in forms.simple_errors(failure.fields).items()}
        return render_book(number(), year, True, opening=typed, errors=errors, problem=failure.message, status=422)
    flash("Le report à nouveau est enregistré.", "success")
    return redirect(url_for("ledger.book", year=year) + "#soldes")


def posted_entry(form) -> dict:
    entry = {key: form.get(key, "").strip() for key in ENTRY_FIELDS}
    entry["allocations"] = [{"category": form.get(f"allocations-{i}-category", "").strip(),
                             "amount": form.get(f"allocations-{i}-amount", "").strip()} for i in range(ALLOCATION_ROWS)]
    return entry


def entry_payload(entry: dict) -> tuple[dict, list[int]]:
    """The API's body; a single account chosen without an amount takes the whole amount."""
    rows = [(i, a) for i, a in enumerate(entry["allocations"]) if a["category"] or a["amount"]]
    if len(rows) == 1 and not rows[0][1]["amount"]:
        rows = [(rows[0][0], {**rows[0][1], "amount": entry["amount"]})]
    payload = {key: entry[key] for key in ENTRY_FIELDS}
    payload["amount"] = forms.money_value(entry["amount"]) if entry["amount"] else ""
    payload["allocations"] = [{"category": a["category"], "amount": forms.money_value(a["amount"])} for _, a in rows]
    return payload, [i for i, _ in rows]


def entry_errors(fields: dict, origin: list[int]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for path, messages in forms.flatten(fields).items():
        parts = path.split(".")
        if parts[0] == "allocations" and len(parts) == 3 and parts[1].isdigit():
            index = int(parts[1])
            key = f"allocations-{origin[index] if index < len(origin) else index}-{parts[2]}"
        elif parts[0] in ENTRY_FIELDS or parts[0] == "allocations":
            key = parts[0]
        else:
            key = "_form"
        errors.setdefault(key, []).extend(messages)
    return errors


@bp.post("/cahier/<year>/ecritures")
@school_required
def add_entry(year):
    pages.checked(year=year)
    entry = posted_entry(request.form)
    payload, origin = entry_payload(entry)
    try:
        written = client.post(book_path(number(), year, "entries"), json=payload)
    except ApiFailure as failure:
        if failure.status != 422:
            raise
        return render_book(number(), year, True, entry=entry, errors=entry_errors(failure.fields, origin),
                           problem=failure.message, status=422)
    flash(f"L'écriture {written['piece']} est enregistrée.", "success")
    return redirect(url_for("ledger.book", year=year) + "#ecritures")


@bp.route("/cahier/<year>/adhesion", methods=["GET", "POST"])
@school_required
def adhesion(year):
    """The guide's green frame, one click further: the adhesion entry, pre-filled, one
    line per payment the OCCE received (dated as paid, with its method), so that each
    meets its line of the bank statement at the pointage."""
    pages.checked(year=year)
    proposal = client.get(book_path(number(), year, "adhesion-entry"))
    if proposal["written"]:
        flash(f"L'adhésion est déjà écrite dans le cahier de comptes (pièce {proposal['piece']}).", "info")
        return redirect(url_for("ledger.book", year=year) + "#ecritures")
    lines = proposed_lines(proposal, year)
    errors, problem = {}, None
    if request.method == "POST":
        lines = [{**line, **{key: request.form.get(f"lines-{i}-{key}", "").strip()
                             for key in ("date", "account", "method", "cheque_number")}}
                 for i, line in enumerate(lines)]
        voucher = request.form.get("voucher", "").strip()
        body = {"voucher": voucher, "lines": [{**{k: line[k] for k in ("account", "method", "cheque_number")},
                                                "date": line["date"] or None, "amount": line["amount"]}
                                               for line in lines]}
        try:
            written = client.post(book_path(number(), year, "adhesion-entry"), json=body)
        except ApiFailure as failure:
            if failure.status == 409:
                flash(failure.message, "info")
                return redirect(url_for("ledger.book", year=year) + "#ecritures")
            if failure.status != 422:
                raise
            errors, problem = line_errors(failure.fields), failure.message
        else:
            more = f" et les {len(lines) - 1} suivante(s)" if len(lines) > 1 else ""
            flash(f"L'adhésion est écrite dans le cahier de comptes : pièce {written['piece']}{more}.", "success")
            return redirect(url_for("ledger.book", year=year) + "#ecritures")
    return render_template("ledger/adhesion_entry.html", year=year, proposal=proposal, lines=lines,
                           voucher=request.form.get("voucher", "") if problem else "", errors=errors,
                           problem=problem, methods=METHODS, accounts=ACCOUNTS), 422 if problem else 200


def proposed_lines(proposal: dict, year: str) -> list[dict]:
    """One line per payment received (net of reversals) when they make the amount written;
    else the proposal's one line. A payment dated outside the exercise (an early payer in
    June) is dated its first or last day: the book holds only its exercise."""
    try:
        received = client.get_or_none(f"/api/payment/dues/{number()}/{year}/payments", also=(502, 503))
    except ApiFailure as failure:
        if failure.status not in (403,):
            raise
        received = None
    items = (received or {}).get("items", [])
    one = [{"date": proposal["date"], "amount": proposal["amount"], "method": proposal["method"],
            "account": proposal["account"], "cheque_number": ""}]
    if not items or sum(Decimal(i["amount"]) for i in items) != Decimal(proposal["amount"]):
        return one
    first_day, last_day = f"{year[:4]}-09-01", f"{year[5:]}-08-31"
    return [{"date": min(max(item["received_on"], first_day), last_day), "amount": item["amount"],
             "method": item["method"] if item["method"] in METHODS else "other",
             "account": "cash" if item["method"] == "cash" else "bank",
             "cheque_number": item["reference"][:30] if item["method"] == "cheque" else ""} for item in items]


def line_errors(fields: dict) -> dict:
    """The API's ``{"lines": {"0": {"date": [...]}}}`` as the form's ``lines-0-date``."""
    errors = {}
    for key, value in (fields or {}).items():
        if key == "lines" and isinstance(value, dict):
            for index, inner in value.items():
                for name, messages in (inner or {}).items():
                    errors[f"lines-{index}-{name}"] = messages if isinstance(messages, list) else [str(messages)]
        else:
            errors[key] = value if isinstance(value, list) else [str(value)]
    return errors


def csv_response(number_: str, year: str) -> Response:
    upstream = client.get(book_path(number_, year, "export.csv"), raw=True)
    response = Response(upstream.content, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = upstream.headers.get(
        "Content-Disposition", f'attachment; filename="cahier-de-comptes-{number_}-{year}.csv"')
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/cahier/<year>/export.csv")
@school_required
def export(year):
    pages.checked(year=year)
    return csv_response(number(), year)


@bp.get("/personnel/cahiers/<number_>/<year>")
@staff_required
def staff_book(number_, year):
    pages.checked(number_, year)
    return render_book(number_, year, editable=False)


@bp.get("/personnel/cahiers/<number_>/<year>/export.csv")
@staff_required
def staff_export(number_, year):
    pages.checked(number_, year)
    return csv_response(number_, year)


@bp.route("/personnel/plan-comptable", methods=["GET", "POST"])
@staff_required
def chart():
    """The department's chart of accounts: OCCE's accounts, and those staff add for their schools."""
    typed, errors, problem = {"code": "", "label": ""}, {}, None
    if request.method == "POST":
        typed = {key: request.form.get(key, "").strip() for key in typed}
        try:
            added = client.post("/api/ledger/categories", json=typed)
        except ApiFailure as failure:
            if failure.status not in (409, 422):
                raise
            errors, problem = forms.simple_errors(failure.fields), failure.message
        else:
            flash(f"Le compte {added['code']} « {added['label']} » est ajouté au plan comptable.", "success")
            return redirect(url_for("ledger.chart"))
    categories = client.get("/api/ledger/categories")["items"]
    return render_template("ledger/categories.html", categories=categories, form=typed, errors=errors,
                           problem=problem), 422 if problem else 200
