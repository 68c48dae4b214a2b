"""« Relevés bancaires »: staff upload a bank statement, see each credit with what it
probably pays (score and reasons), confirm one, confirm every sure one, split, set aside."""
from decimal import Decimal

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from shared.identifiers import is_valid_number, is_valid_year
from web import client, forms
from web.client import ApiFailure
from web.formatting import eur
from web.security import staff_required

bp = Blueprint("statements", __name__, url_prefix="/personnel/releves")

MAX_UPLOAD = 10 * 1024 * 1024 + 64 * 1024  # the statement plus the form around it
FORMAT_LABELS = {"camt.053": "CAMT.053 (XML)", "ofx": "OFX", "cfonb120": "CFONB 120", "csv": "CSV"}
LINE_STATUS_LABELS = {"unmatched": "à identifier", "suggested": "proposée", "confirmed": "confirmée",
                      "ignored": "ignorée"}
REASON_LABELS = {
    "reference": "référence RF dans le libellé", "registration_code": "code d'enregistrement dans le libellé",
    "number": "numéro de coopérative dans le libellé", "iban": "compte déjà confirmé pour cette coopérative",
    "amount_due": "montant exact restant dû", "name": "nom proche de celui de la coopérative",
    "town": "commune de la coopérative", "split": "paiement groupé (mairie)", "slip_total": "total du bordereau",
    "slip_label": "bordereau cité dans le libellé", "outside_year": "date hors de l'année scolaire (score réduit)",
}
SPLIT_ROWS = 4
PAGE = 100  # lines per page: a September statement has thousands


def allow_statement_upload() -> None:
    """Runs before the CSRF check reads the form: only the upload may exceed 256 KB."""
    if request.endpoint == "statements.upload" and request.method == "POST":
        request.max_content_length = MAX_UPLOAD


@bp.app_template_filter("reason_label")
def reason_label(code: str) -> str:
    return REASON_LABELS.get(code, code)


@bp.app_template_filter("score_percent")
def score_percent(score) -> str:
    return f"{round(float(score) * 100)}\u00a0%"


@bp.get("")
@staff_required
def index():
    statements = client.get("/api/payment/statements")["items"]
    return render_template("staff/statements.html", statements=statements, formats=FORMAT_LABELS)


@bp.post("")
@staff_required
def upload():
    upload_file = request.files.get("releve")
    if upload_file is None or not upload_file.filename:
        flash("Choisissez le fichier du relevé (CAMT.053, OFX, CFONB 120 ou CSV).", "error")
        return redirect(url_for("statements.index"))
    try:
        answer = _post_file(upload_file.filename, upload_file.read())
    except ApiFailure as failure:
        if failure.status not in (400, 413, 422):
            raise
        flash(failure.message, "error")
        return redirect(url_for("statements.index"))
    flash(f"Relevé importé ({FORMAT_LABELS.get(answer['format'], answer['format'])}) : {answer['lines']} ligne(s) "
          f"lue(s), {answer['new_lines']} nouvelle(s), {answer['duplicates']} déjà importée(s).", "success")
    return redirect(url_for("statements.lines", statement_id=answer["id"]))


def _post_file(filename: str, data: bytes) -> dict:
    return client.post("/api/payment/statements", files={"file": (filename, data)})


@bp.get("/<int:statement_id>")
@staff_required
def lines(statement_id):
    items = client.get(f"/api/payment/statements/{statement_id}/lines")["items"]
    shown = request.args.get("statut", "")
    counts = {status: sum(1 for i in items if i["status"] == status) for status in LINE_STATUS_LABELS}
    sure = sum(1 for i in items if i["status"] == "suggested" and i["suggestions"][0]["score"] >= 0.9)
    names = {s["cooperative"]: s.get("name", "") for i in items for s in i["suggestions"] if "cooperative" in s}
    visible = [i for i in items if not shown or i["status"] == shown]
    pages_count = max(1, -(-len(visible) // PAGE))
    page = min(max(request.args.get("page", "1").isdigit() and int(request.args.get("page", "1")) or 1, 1),
               pages_count)
    return render_template("staff/statement_lines.html", statement_id=statement_id,
                           items=[with_split_rows(i) for i in visible[(page - 1) * PAGE:page * PAGE]], counts=counts, shown=shown, sure=sure,
                           names=names, status_labels=LINE_STATUS_LABELS, page=page, pages_count=pages_count)


def with_split_rows(item: dict) -> dict:
    """The rows of the « Répartir » form, pre-filled with the proposed split if any; a
    split first in the suggestions is the one-click proposal (``proposed_split``: each
    allocation with its cooperative's name), the other suggestions stay below it."""
    split = next((s["split"] for s in item["suggestions"] if "split" in s), None)
    names = {s["cooperative"]: s.get("name", "") for s in item["suggestions"] if "cooperative" in s}
    first = item["suggestions"][0] if item["suggestions"] else {}
    item["proposed_split"] = None
    if "split" in first:
        item["proposed_split"] = {"score": first["score"], "reasons": first["reasons"],
                                  "allocations": [{**a, "name": names.get(a["cooperative"], "")}
                                                  for a in first["split"]]}
    item["single_suggestions"] = [s for s in item["suggestions"] if "split" not in s]
    rows = split or [{"cooperative": "", "year": "", "amount": ""}]
    item["split_rows"] = [{**row, "amount": _input(row["amount"])} for row in rows] + \
        [{"cooperative": "", "year": "", "amount": ""}] * max(0, SPLIT_ROWS - len(rows))
    return item


def _input(amount) -> str:
    return f"{Decimal(amount):.2f}".replace(".", ",") if amount not in ("", None) else ""


@bp.post("/<int:statement_id>/tout-confirmer")
@staff_required
def confirm_all(statement_id):
    answer = client.post(f"/api/payment/statements/{statement_id}/confirm-suggested", json={"min_score": "0.9"})
    message = f"{answer['confirmed']} ligne(s) confirmée(s) : les paiements sont enregistrés."
    if answer["skipped"]:
        message += f" {answer['skipped']} ligne(s) visant une coopérative déjà réglée restent à vérifier."
    flash(message, "success")
    return redirect(url_for("statements.lines", statement_id=statement_id))


@bp.post("/<int:statement_id>/lignes/<int:line_id>/confirmer")
@staff_required
def confirm(statement_id, line_id):
    form = request.form
    if form.get("slip"):
        body = {"slip": int(form["slip"]) if form["slip"].isdigit() else form["slip"]}
    else:
        rows = zip(form.getlist("cooperative"), form.getlist("year"), form.getlist("amount"))
        allocations = [{"cooperative": c.strip().upper(), "year": y.strip(), "amount": forms.money_value(a)}
                       for c, y, a in rows if c.strip() or a.strip()]
        body = {"allocations": allocations}
    try:
        client.post(f"/api/payment/statement-lines/{line_id}/confirm", json=body)
    except ApiFailure as failure:
        if failure.status not in (400, 403, 404, 409, 422):
            raise
        details = " ".join(" ".join(map(str, v)) if isinstance(v, list) else str(v)
                           for v in _flat(failure.fields))
        flash(f"{failure.message} {details}".strip(), "error")
        return redirect(url_for("statements.lines", statement_id=statement_id) + f"#ligne-{line_id}")
    flash("Ligne confirmée : le paiement est enregistré.", "success")
    return redirect(url_for("statements.lines", statement_id=statement_id) + f"#ligne-{line_id}")


def _flat(fields, depth=0):
    for value in (fields or {}).values():
        if isinstance(value, dict) and depth < 4:
            yield from _flat(value, depth + 1)
        else:
            yield value


@bp.post("/<int:statement_id>/lignes/<int:line_id>/cote")
@staff_required
def aside(statement_id, line_id):
    back = request.form.get("aside", "oui") == "oui"
    client.post(f"/api/payment/statement-lines/{line_id}/aside", json={"aside": back})
    flash("Ligne mise de côté." if back else "Ligne remise à traiter.", "success")
    return redirect(url_for("statements.lines", statement_id=statement_id) + f"#ligne-{line_id}")


@bp.app_template_filter("signed_eur")
def signed_eur(value) -> str:
    return eur(value)


@bp.post("/paiements/annuler")
@staff_required
def reverse_payment():
    """A payment typed wrong, a cheque returned unpaid, an overpayment refunded: reversed, never deleted."""
    number, year = request.form.get("number", ""), request.form.get("year", "")
    payment_id = request.form.get("payment", "")
    if not payment_id.isdigit():
        abort(400)
    amount = request.form.get("amount", "").strip()
    body = {"reason": request.form.get("reason", "")}
    if amount:
        body["amount"] = forms.money_value(amount)
    try:
        client.post(f"/api/payment/payments/{payment_id}/reverse", json=body)
        flash("Annulation enregistrée : le montant reçu est corrigé.", "success")
    except ApiFailure as failure:
        if failure.status not in (400, 409, 422):
            raise
        details = " ".join(" ".join(map(str, v)) if isinstance(v, list) else str(v) for v in _flat(failure.fields))
        flash(f"{failure.message} {details}".strip(), "error")
    if is_valid_number(number) and is_valid_year(year):
        return redirect(url_for("staff.adhesion", number=number, year=year) + "#paiement")
    return redirect(url_for("statements.index"))
