"""« Fin d'exercice » (the school) and « Comptes rendus financiers » (staff): the year's
end of the cahier de comptes over the ledger's API (docs/ledger.md#6-the-years-end)."""
from datetime import date

from flask import Blueprint, Response, flash, redirect, render_template, request, session, url_for

from web import client, forms, pages
from web.client import ApiFailure
from web.formatting import campaign_year
from web.security import school_required, staff_required

bp = Blueprint("yearend", __name__)

UPLOAD_LIMIT = 10 * 1024 * 1024 + 64 * 1024  # a statement (10 MB) or the attached one (5 MB)
UPLOAD_ENDPOINTS = ("yearend.import_statement", "yearend.attach_statement")
DENOMINATIONS = ("500.00", "200.00", "100.00", "50.00", "20.00", "10.00", "5.00",
                 "2.00", "1.00", "0.50", "0.20", "0.10", "0.05", "0.02", "0.01")
QUALITIES = {"parent": "Parent d'élève", "enseignant": "Enseignant non mandataire", "autre": "Autre"}
STATUS_LABELS = {"not_started": "Non commencé", "draft": "En cours", "closed": "Clôturé", "submitted": "Envoyé",
                 "received": "Reçu", "returned": "Renvoyé à l'école"}
UNMET_TEXT = {
    "statement_balance": "le solde du relevé bancaire au 31 août n'est pas indiqué",
    "reconciliation": "le solde du cahier, corrigé des opérations non pointées, ne correspond pas au relevé",
    "cash_count": "l'arrêté de caisse au 31 août manque ou ne correspond pas au solde de la caisse",
    "closed": "l'exercice n'est pas clôturé",
    "quitus": "le quitus n'est pas complet",
    "statement": "le relevé bancaire au 31 août n'est pas joint",
}


def allow_upload() -> None:
    """Before the CSRF check reads the form: only the statement uploads exceed 256 KB."""
    if request.endpoint in UPLOAD_ENDPOINTS and request.method == "POST":
        request.max_content_length = UPLOAD_LIMIT


def book_path(number: str, year: str, action: str = "") -> str:
    return f"/api/ledger/books/{number}/{year}" + (f"/{action}" if action else "")


def number() -> str:
    return session["cooperative"]


def denomination_label(value: str) -> str:
    units, cents = value.split(".")
    return f"{units} €" if cents == "00" else f"{int(cents)} centime{'s' if int(cents) > 1 else ''}"


def steps(book: dict, crf: dict) -> list[dict]:
    """The checklist in the order the work is done, each step saying what is missing."""
    bank = [e for e in book["entries"] if e["account"] == "bank"]
    pending = [e for e in bank if not e["pointed_on"]]
    count = crf["cash_count"]
    end = book["exercise"]["end"]
    sent = crf["status"] in ("submitted", "received")
    quitus = crf["quitus"]
    return [
        {"id": "pointage", "title": "Pointage", "done": not pending or crf["closed"],
         "text": ("Toutes les opérations en banque sont pointées." if not pending else
                  f"{len(pending)} opération(s) en banque non pointée(s) : pointez celles qui figurent sur le relevé ; "
                  "les autres (chèques non encaissés…) resteront « en attente » à la clôture.")},
        {"id": "caisse", "title": "Arrêté de caisse", "done": bool(count and count["date"] == end
                                                                  and count["difference"] == "0.00"),
         "text": ("Faites l'arrêté de caisse au 31 août : comptez les billets et les pièces." if not count else
                  "L'arrêté de caisse doit être daté du 31 août." if count["date"] != end else
                  "La caisse comptée correspond au solde du cahier." if count["difference"] == "0.00" else
                  "La caisse comptée ne correspond pas au solde du cahier : vérifiez le comptage et les écritures.")},
        {"id": "cloture", "title": "Clôture", "done": crf["closed"],
         "text": "L'exercice est clôturé." if crf["closed"] else
                 "Indiquez le solde du relevé bancaire au 31 août puis clôturez l'exercice."},
        {"id": "quitus", "title": "Quitus", "done": bool(quitus),
         "text": "Le quitus est donné." if quitus else
                 "Indiquez le mandataire et les deux vérificateurs aux comptes (qui ne sont pas le mandataire)."},
        {"id": "releve", "title": "Relevé bancaire", "done": crf["statement_attached"],
         "text": "Le relevé au 31 août est joint." if crf["statement_attached"] else
                 "Joignez le relevé bancaire au 31 août (PDF, JPEG ou PNG, 5 Mo au plus)."},
        {"id": "envoi", "title": "Envoi à l'OCCE", "done": sent,
         "text": ("Le compte rendu financier est reçu par l'OCCE." if crf["status"] == "received" else
                  "Le compte rendu financier est envoyé à l'OCCE." if sent else
                  f"À envoyer au plus tard le {date.fromisoformat(crf['deadline']):%d/%m/%Y}."
                  if crf.get("deadline") else "À envoyer à l'OCCE.")},
    ]


def render_page(year: str, proposals: dict | None = None, errors: dict | None = None, problem: str | None = None,
                typed: dict | None = None, status: int = 200, typed_quitus: dict | None = None):
    book = client.get(book_path(number(), year))
    crf = client.get(book_path(number(), year, "crf"))
    count = crf["cash_count"] or {}
    quitus = typed_quitus or crf["quitus"] or {"mandataire": {"name": "", "date": ""},
                               "verifiers": [{"name": "", "quality": "parent", "date": ""} for _ in range(2)]}
    return render_template(
        "yearend/school.html", year=year, book=book, crf=crf, steps=steps(book, crf), proposals=proposals,
        errors=errors or {}, problem=problem, typed=typed or {}, counted=count.get("counted", {}),
        denominations=[(d, denomination_label(d)) for d in DENOMINATIONS], quitus=quitus, qualities=QUALITIES,
        status_labels=STATUS_LABELS, neighbours=_neighbours(year),
    ), status


def _neighbours(year: str) -> tuple[str, str]:
    first = int(year[:4])
    return f"{first - 1}-{first}", f"{first + 1}-{first + 2}"


def _back(year: str, anchor: str):
    return redirect(url_for("yearend.school", year=year) + f"#{anchor}")


def _refused(failure: ApiFailure, year: str, anchor: str, **kwargs):
    """A refusal shown on the page: the unmet checks in plain words, or the fields at fault."""
    if failure.status not in (409, 413, 415, 422):
        raise failure
    unmet = failure.body.get("unmet")
    message = failure.message
    if unmet:
        message = "Pas encore : " + " ; ".join(UNMET_TEXT.get(u, u) for u in unmet) + "."
    return render_page(year, problem=message, errors=forms.simple_errors(failure.fields or {}), status=failure.status,
                       **kwargs)


def exercise_year() -> str:
    """The exercise whose end is being done: from September to December the one that
    closed on 31 August (its CRF is due in the autumn), else the current one."""
    year = campaign_year()
    if date.today().month >= 9:
        first = int(year[:4]) - 1
        return f"{first}-{first + 1}"
    return year


@bp.get("/fin-exercice")
@school_required
def current():
    return redirect(url_for("yearend.school", year=exercise_year()))


@bp.get("/fin-exercice/<year>")
@school_required
def school(year):
    pages.checked(year=year)
    return render_page(year)


@bp.post("/fin-exercice/<year>/pointage/<piece>")
@school_required
def point(year, piece):
    pages.checked(year=year)
    path = book_path(number(), year, f"entries/{piece}/pointage")
    try:
        if request.form.get("action") == "depointer":
            client.call("delete", path)
        else:
            client.post(path, json={"on": request.form.get("on") or date.today().isoformat()})
    except ApiFailure as failure:
        return _refused(failure, year, "pointage")
    return _back(year, "pointage")


@bp.post("/fin-exercice/<year>/releve")
@school_required
def import_statement(year):
    pages.checked(year=year)
    upload = request.files.get("releve")
    if upload is None or not upload.filename:
        return render_page(year, problem="Choisissez le fichier du relevé (CAMT.053, OFX, CFONB 120 ou CSV).",
                           status=422)
    try:
        answer = client.post(book_path(number(), year, "statement"), data=upload.read(),
                             content_type="application/octet-stream")
    except ApiFailure as failure:
        return _refused(failure, year, "pointage")
    return render_page(year, proposals=answer)


@bp.post("/fin-exercice/<year>/rapprochement")
@school_required
def confirm(year):
    pages.checked(year=year)
    pairs = []
    for value in request.form.getlist("paire"):
        line, _, piece = value.partition(":")
        if line.isdigit() and piece:
            pairs.append({"line": int(line), "entry": piece})
    if not pairs:
        flash("Aucune association cochée : rien n'est pointé.", "info")
        return _back(year, "pointage")
    try:
        answer = client.post(book_path(number(), year, "statement/confirm"), json={"pairs": pairs})
    except ApiFailure as failure:
        return _refused(failure, year, "pointage")
    flash(f"{answer['pointed']} opération(s) pointée(s).", "success")
    return _back(year, "pointage")


@bp.post("/fin-exercice/<year>/caisse")
@school_required
def cash_count(year):
    pages.checked(year=year)
    counted, errors = {}, {}
    for value in DENOMINATIONS:
        text = request.form.get(f"coupure-{value}", "").strip()
        if not text:
            continue
        if not text.isdigit() or int(text) > 100_000:
            errors[f"coupure-{value}"] = ["Un nombre entier de 0 à 100 000."]
        else:
            counted[value] = int(text)
    if errors:
        return render_page(year, errors=errors, problem="Le comptage n'est pas enregistré : corrigez les nombres.",
                           status=422)
    try:
        answer = client.put(book_path(number(), year, "cash-count"), json={
            "date": request.form.get("date", ""), "counted": counted})
    except ApiFailure as failure:
        return _refused(failure, year, "caisse")
    if answer["difference"] == "0.00":
        flash("L'arrêté de caisse est enregistré : il correspond au solde de la caisse.", "success")
    else:
        flash("L'arrêté de caisse est enregistré, mais il ne correspond pas au solde de la caisse du cahier.", "error")
    return _back(year, "caisse")


@bp.post("/fin-exercice/<year>/cloture")
@school_required
def close(year):
    pages.checked(year=year)
    typed = request.form.get("statement_balance", "").strip()
    body = {"statement_balance": forms.money_value(typed)} if typed else {}
    try:
        client.post(book_path(number(), year, "close"), json=body)
    except ApiFailure as failure:
        return _refused(failure, year, "cloture", typed={"statement_balance": typed})
    flash("L'exercice est clôturé. Le report à nouveau de l'exercice suivant est repris automatiquement.", "success")
    return _back(year, "quitus")


@bp.post("/fin-exercice/<year>/quitus")
@school_required
def quitus(year):
    pages.checked(year=year)
    form = request.form
    body = {"mandataire": {"name": form.get("mandataire-name", "").strip(), "date": form.get("mandataire-date", "")},
            "verifiers": [{"name": form.get(f"verifier-{i}-name", "").strip(),
                           "quality": form.get(f"verifier-{i}-quality", ""),
                           "date": form.get(f"verifier-{i}-date", "")} for i in range(2)]}
    try:
        client.put(book_path(number(), year, "crf/quitus"), json=body)
    except ApiFailure as failure:
        if failure.status != 422:
            raise
        return render_page(year, problem=failure.message, errors=_quitus_errors(failure.fields or {}),
                           status=422, typed_quitus=body)
    flash("Le quitus est enregistré.", "success")
    return _back(year, "releve")


def _quitus_errors(fields: dict) -> dict:
    errors: dict = {}
    for path, messages in forms.flatten(fields).items():
        parts = path.split(".")
        if parts[0] == "mandataire" and len(parts) == 2:
            key = f"mandataire-{parts[1]}"
        elif parts[0] == "verifiers" and len(parts) == 3 and parts[1].isdigit():
            key = f"verifier-{parts[1]}-{parts[2]}"
        else:
            key = "quitus"
        errors.setdefault(key, []).extend(messages)
    return errors


@bp.post("/fin-exercice/<year>/releve-joint")
@school_required
def attach_statement(year):
    pages.checked(year=year)
    upload = request.files.get("releve_joint")
    if upload is None or not upload.filename:
        return render_page(year, problem="Choisissez le relevé bancaire au 31 août (PDF, JPEG ou PNG).", status=422)
    try:
        client.put(book_path(number(), year, "crf/statement"), data=upload.read(),
                   content_type="application/octet-stream")
    except ApiFailure as failure:
        return _refused(failure, year, "releve")
    flash("Le relevé bancaire est joint au compte rendu financier.", "success")
    return _back(year, "envoi")


@bp.post("/fin-exercice/<year>/envoi")
@school_required
def submit(year):
    pages.checked(year=year)
    try:
        client.post(book_path(number(), year, "crf/submit"))
    except ApiFailure as failure:
        return _refused(failure, year, "envoi")
    flash("Le compte rendu financier est envoyé à l'OCCE. Un e-mail de confirmation suit.", "success")
    return _back(year, "envoi")


def _file(path: str, filename: str) -> Response:
    upstream = client.get(path, raw=True)
    response = Response(upstream.content, mimetype=upstream.headers.get("Content-Type", "application/pdf"))
    response.headers["Content-Disposition"] = upstream.headers.get("Content-Disposition", f'inline; filename="{filename}"')
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/fin-exercice/<year>/compte-rendu-financier.pdf")
@school_required
def crf_pdf(year):
    pages.checked(year=year)
    return _file(book_path(number(), year, "crf.pdf"), f"compte-rendu-financier-{year}.pdf")


# -- staff -------------------------------------------------------------------------------

@bp.get("/personnel/comptes-rendus")
@staff_required
def campaign_current():
    return redirect(url_for("yearend.campaign", year=exercise_year()))


@bp.get("/personnel/comptes-rendus/<year>")
@staff_required
def campaign(year):
    pages.checked(year=year)
    status = request.args.get("statut", "")
    late = request.args.get("retard", "")
    params = {}
    if status in STATUS_LABELS:
        params["status"] = status
    if late == "1":
        params["late"] = "true"
    return render_campaign(year, status, late, params)


def render_campaign(year: str, status: str = "", late: str = "", params: dict | None = None,
                    typed: dict | None = None, errors: dict | None = None, code: int = 200):
    listing = client.get(f"/api/ledger/crf/{year}", params=params or {})
    settings = client.get("/api/ledger/settings")
    form = typed or {"deadline": _day_month(settings["crf_deadline"]),
                     "reminders": ", ".join(_day_month(d) for d in settings["crf_reminder_dates"])}
    return render_template("yearend/campaign.html", year=year, listing=listing, status=status, late=late,
                           status_labels=STATUS_LABELS, form=form, errors=errors or {}), code


def _day_month(month_day: str) -> str:
    """``09-30`` (the API's) → ``30/09`` (as staff write it)."""
    month, day = month_day.split("-")
    return f"{day}/{month}"


def _month_day(text: str) -> str:
    """``30/09`` → ``09-30``; anything else is passed on for the API to refuse."""
    day, _, month = text.strip().partition("/")
    return f"{month.zfill(2)}-{day.zfill(2)}" if day.isdigit() and month.isdigit() else text.strip()


@bp.post("/personnel/comptes-rendus/<year>/reglages")
@staff_required
def settings(year):
    pages.checked(year=year)
    typed = {"deadline": request.form.get("deadline", ""), "reminders": request.form.get("reminders", "")}
    body = {"crf_deadline": _month_day(typed["deadline"]),
            "crf_reminder_dates": [_month_day(part) for part in typed["reminders"].split(",") if part.strip()]}
    try:
        client.put("/api/ledger/settings", json=body)
    except ApiFailure as failure:
        if failure.status != 422:
            raise
        errors = {("deadline" if key == "crf_deadline" else "reminders"): ["Date au format JJ/MM, ex. 30/09."]
                  for key in (failure.fields or {"crf_deadline": []})}
        return render_campaign(year, typed=typed, errors=errors, code=422)
    flash("La date limite et les dates de relance du département sont enregistrées.", "success")
    return redirect(url_for("yearend.campaign", year=year))


@bp.get("/personnel/comptes-rendus/<year>/comptes-agreges.csv")
@staff_required
def aggregate(year):
    pages.checked(year=year)
    upstream = client.get(f"/api/ledger/crf/{year}/aggregate.csv", raw=True)
    response = Response(upstream.content, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = upstream.headers.get("Content-Disposition", "attachment")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/personnel/comptes-rendus/<year>/relance")
@staff_required
def remind(year):
    pages.checked(year=year)
    answer = client.post(f"/api/ledger/crf/{year}/reminders", json={})
    flash(f"Relance n° {answer['round']} : {answer['sent']} coopérative(s) relancée(s) par e-mail.", "success")
    return redirect(url_for("yearend.campaign", year=year))


def render_staff_crf(year: str, number_: str, problem: str | None = None, status: int = 200):
    crf = client.get(book_path(number_, year, "crf"))
    return render_template("yearend/staff_crf.html", year=year, number=number_, crf=crf, problem=problem,
                           status_labels=STATUS_LABELS, qualities=QUALITIES), status


@bp.get("/personnel/comptes-rendus/<year>/<number_>")
@staff_required
def staff_crf(year, number_):
    pages.checked(number_, year)
    return render_staff_crf(year, number_)


@bp.post("/personnel/comptes-rendus/<year>/<number_>/<action>")
@staff_required
def staff_action(year, number_, action):
    pages.checked(number_, year)
    if action not in ("recevoir", "renvoyer", "rouvrir"):
        return redirect(url_for("yearend.staff_crf", year=year, number_=number_))
    try:
        if action == "recevoir":
            client.post(book_path(number_, year, "crf/receive"))
            flash("Le compte rendu financier est marqué reçu.", "success")
        elif action == "renvoyer":
            client.post(book_path(number_, year, "crf/return"), json={"message": request.form.get("message", "")})
            flash("Le compte rendu financier est renvoyé à l'école : elle reçoit votre message par e-mail.", "success")
        else:
            client.post(book_path(number_, year, "reopen"))
            flash("Le cahier de comptes est rouvert.", "success")
    except ApiFailure as failure:
        if failure.status not in (409, 422):
            raise
        return render_staff_crf(year, number_, problem=failure.message, status=failure.status)
    return redirect(url_for("yearend.staff_crf", year=year, number_=number_))


@bp.get("/personnel/comptes-rendus/<year>/<number_>/compte-rendu-financier.pdf")
@staff_required
def staff_pdf(year, number_):
    pages.checked(number_, year)
    return _file(book_path(number_, year, "crf.pdf"), f"compte-rendu-financier-{number_}-{year}.pdf")


@bp.get("/personnel/comptes-rendus/<year>/<number_>/releve")
@staff_required
def staff_statement(year, number_):
    pages.checked(number_, year)
    return _file(book_path(number_, year, "crf/statement"), f"releve-{number_}-{year}")
