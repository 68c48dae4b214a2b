"""What school and staff pages share: loading an adhesion, its amount lines, its PDFs."""
from datetime import date, datetime
from decimal import Decimal

from flask import Response, abort

from shared.identifiers import is_valid_number, is_valid_year
from shared.names import cooperative_label
from shared.payment_reference import format_iban, format_reference, payment_reference
from web import client
from web.client import ApiFailure
from web.formatting import FRANCE, decimal, eur, fee

KINDS = ("attestation", "certificate")
KIND_LABELS = {"attestation": "Attestation d'adhésion", "certificate": "Certificat d'assurance"}


def checked(number: str | None = None, year: str | None = None) -> None:
    """A malformed cooperative number or year in a page address is a 404 page."""
    if (number is not None and not is_valid_number(number)) or (year is not None and not is_valid_year(year)):
        abort(404)


def adhesion_path(number: str, year: str, action: str = "") -> str:
    return f"/api/adhesion/adhesions/{number}/{year}" + (f"/{action}" if action else "")


def load_rates(year: str) -> dict | None:
    return client.get_or_none(f"/api/adhesion/rates/{year}")


def late_after(rates: dict | None, today: date | None = None) -> str | None:
    """« 15/10/2025 » when the year's renewal window has closed (a school sending now is
    late, and is told so before it sends); None while it is open."""
    try:
        closes = date.fromisoformat(rates["renewal_closes"])
    except (TypeError, KeyError, ValueError):
        return None
    today = today or datetime.now(FRANCE).date()
    return closes.strftime("%d/%m/%Y") if today > closes else None


def documents_of(number: str, year: str, href) -> list[dict]:
    """The current PDFs of an adhesion, each with ``href(kind)``: the page address that serves it."""
    answer = client.get_or_none(f"/api/documents/{number}/{year}", also=(503,))
    documents = answer["documents"] if answer else []
    for document in documents:
        document["label"] = KIND_LABELS.get(document["kind"], document["kind"])
        document["href"] = href(document["kind"])
    return documents


def pdf_response(number: str, year: str, kind: str) -> Response:
    """The PDF of the documents service, fetched with the session's token."""
    if kind not in KINDS:
        abort(404)
    upstream = client.get(f"/api/documents/{number}/{year}/{kind}.pdf", raw=True)
    response = Response(upstream.content, mimetype="application/pdf")
    disposition = upstream.headers.get("Content-Disposition")
    if disposition:
        response.headers["Content-Disposition"] = disposition
    response.headers["Cache-Control"] = "private, no-store"
    return response


def amount_lines(adhesion: dict, rates: dict | None) -> list[dict]:
    """The lines of the guide: Adhésion, Assurance, biens, instruments, total."""
    totals, amounts = adhesion["totals"], adhesion["amounts"]
    cooperators = totals["cooperators"]
    if rates is None:
        membership_detail = f"des coopérateurs ({cooperators})"
        insurance_detail = f"des coopérateurs ({cooperators})"
    else:
        per_student, per_adult = decimal(rates["fee_per_student"]), decimal(rates["fee_per_adult"])
        flat = decimal(rates["fee_per_cooperative"]) or Decimal(0)
        if per_student == per_adult:
            membership_detail = f"des coopérateurs ({cooperators} x {fee(per_student)})"
        else:
            membership_detail = (f"des coopérateurs ({totals['students']} élèves x {fee(per_student)} "
                                 f"+ {totals['teachers']} adultes x {fee(per_adult)})")
        if flat:
            membership_detail += f" + {fee(flat)} par coopérative"
        insurance_detail = f"des coopérateurs ({cooperators} x {fee(rates['insurance_per_cooperator'])})"
    insured = adhesion["insurance"]
    return [
        {"key": "membership", "head": "Adhésion :", "detail": f"{membership_detail} :",
         "amount": eur(amounts["membership"])},
        {"key": "insurance", "head": "Assurance :", "detail": ("oui — " + insurance_detail + " :") if insured else "non :",
         "amount": eur(amounts["insurance"])},
        {"key": "goods", "head": "", "detail": f"des biens, propriété de la Coopérative Scolaire (valeur déclarée : "
                                               f"{eur(adhesion['goods_value'])}) :", "amount": eur(amounts["goods"])},
        {"key": "instruments", "head": "", "detail": f"des instruments de musique (valeur déclarée : "
                                                     f"{eur(adhesion['instruments_value'])}) :",
         "amount": eur(amounts["instruments"])},
        {"key": "total", "head": "total :", "detail": "", "amount": eur(amounts["total"]), "total": True},
    ]


def premium_hint(rates: dict | None, kind: str) -> str:
    if rates is None:
        return ""
    rate = decimal(rates[f"{kind}_rate"]) * 100
    percent = format(rate.normalize(), "f").replace(".", ",")
    threshold = decimal(rates[f"{kind}_threshold"])
    if threshold:
        return f"Prime : {percent} % de la valeur au-delà de {eur(threshold)}."
    return f"Prime : {percent} % de la valeur déclarée."


def row_total(row: dict) -> str:
    """Teachers + pupils of a row as typed; nothing while a count is missing or out of range."""
    if not row.get("teacher_count") and not row.get("student_count"):
        return ""
    try:
        counts = [int(row.get(key) or 0) for key in ("teacher_count", "student_count")]
    except (TypeError, ValueError):
        return ""
    return str(sum(counts)) if all(0 <= count <= 5000 for count in counts) else ""


def coop_heading(cooperative: dict) -> str:
    """« Adhésion de la Coopérative Scolaire de l'École …, à VIENNE. »"""
    return f"Adhésion de la {cooperative_label(cooperative['name'])}, à {cooperative['town']}."


def amount_input_or_blank(value) -> str:
    """A declared value for its input: ``1500,00``; nothing when it is zero."""
    number = decimal(value)
    if number is None or number == 0:
        return ""
    return f"{number:.2f}".replace(".", ",")


QUOTED = ("insurance", "goods_value", "instruments_value", "totals", "amounts")


def quote(number: str, year: str, state: dict) -> dict:
    """The adhesion service's price of the figures as typed (text as it is: the service reads
    it, and counts what it cannot read as 0). Raises ``ApiFailure`` as any call does."""
    classes = [{key: row.get(key) or "" for key in ("teacher_count", "student_count")}
               for row in state["rows"] if row.get("teacher_count") or row.get("student_count")]
    return client.post("/api/adhesion/quote", json={
        "cooperative": number, "year": year, "classes": classes, "insurance": bool(state.get("insurance")),
        "goods_value": state.get("goods_value") or "", "instruments_value": state.get("instruments_value") or "",
    })


def estimated(saved: dict, state: dict, number: str, year: str) -> dict | None:
    """The adhesion as the typed (not yet saved) figures would make it, for the amounts block
    beside a refusal: the service prices them, and stays the judge once the table is saved.
    None when it cannot (no rates for the year, figures it refuses, a service down)."""
    try:
        answer = quote(number, year, state)
    except ApiFailure as failure:
        if failure.status in (400, 404, 422, 503):
            return None
        raise
    return {**saved, **{key: answer[key] for key in QUOTED}}


WAYS = ("transfer", "cheque", "other", "direct_debit")


def payment_reference_of(adhesion: dict) -> str:
    """« RF37 2603 8229 6P00 »: deterministic (number and year), so shown at once after
    sending, not once the payment service has the dues (issue 25)."""
    return format_reference(payment_reference(adhesion["cooperative"]["number"], adhesion["year"]))


def next_steps(adhesion: dict, dues: dict | None, answered: bool, mandate: dict | None = None) -> dict:
    """« Et maintenant ? »: the amount, each chosen way to pay with its instructions, the
    engagement du mandataire, and the state of each item as the services know it.

    ``dues`` is the payment service's answer: None with ``answered`` until the submission
    reaches it (a 404), None without ``answered`` while it cannot be reached."""
    department = adhesion.get("department") or {}
    chosen = [way for way in WAYS if adhesion["payment"].get(way)] or [w for w in WAYS if w != "direct_debit"]
    checklist = adhesion["checklist"]
    if dues is not None:
        payment = {"status": dues["status"], "paid": eur(dues["amount_paid"]), "due": eur(dues["amount_due"]),
                   "balance": eur(dues["balance"])}
    elif answered:  # payment holds no dues yet, and it records a payment only against known dues
        payment = {"status": "unpaid"}
    else:  # payment cannot be reached: no status of ours, the adhesion's own figures
        payment = {"status": None, "paid": eur(checklist["amount_paid"]), "due": eur(checklist["amount_due"]),
                   "received": bool(checklist["payment_received"])}
    reference = payment_reference_of(adhesion)
    return {
        "amount": eur(adhesion["amounts"]["total"]),
        "ways": chosen,
        "department": department,
        "payee": department.get("payee") or department.get("name") or "",
        "iban": format_iban(department.get("iban") or ""),
        "reference": reference,
        "payment": payment,
        "engagement_received": bool(checklist["engagement_signed"]),
        "change_form": checklist["change_form"],
        "late": bool(adhesion.get("late")),
        "mandate": mandate,
        "debit_rejected": (dues or {}).get("debit_rejected") or "",
    }
