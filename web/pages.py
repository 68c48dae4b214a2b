"""What school and staff pages share: loading an adhesion, its amount lines, its PDFs."""
from decimal import Decimal

from flask import Response, abort

from shared.identifiers import is_valid_number, is_valid_year
from shared.money import to_cents
from web import client
from web.client import ApiFailure
from web.formatting import decimal, eur, fee

KINDS = ("attestation", "certificate")
KIND_LABELS = {"attestation": "Attestation d'adhésion", "certificate": "Certificat d'assurance"}


def checked(number: str | None = None, year: str | None = None) -> None:
    """A malformed cooperative number or year in a page address is a 404 page."""
    if (number is not None and not is_valid_number(number)) or (year is not None and not is_valid_year(year)):
        abort(404)


def adhesion_path(number: str, year: str, action: str = "") -> str:
    return f"/api/adhesion/adhesions/{number}/{year}" + (f"/{action}" if action else "")


def load_rates(year: str) -> dict | None:
    try:
        return client.get(f"/api/adhesion/rates/{year}")
    except ApiFailure as failure:
        if failure.status == 404:
            return None
        raise


def documents_of(number: str, year: str, href) -> list[dict]:
    """The current PDFs of an adhesion, each with ``href(kind)``: the page address that serves it."""
    try:
        documents = client.get(f"/api/documents/{number}/{year}")["documents"]
    except ApiFailure as failure:
        if failure.status in (404, 503):
            return []
        raise
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
    name = cooperative["name"].strip()
    if not name.casefold().startswith("coopérative"):
        name = f"Coopérative Scolaire {name}"
    return f"Adhésion de la {name}, à {cooperative['town']}."


def amount_input_or_blank(value) -> str:
    """A declared value for its input: ``1500,00``; nothing when it is zero."""
    number = decimal(value)
    if number is None or number == 0:
        return ""
    return f"{number:.2f}".replace(".", ",")


def _count(text) -> int:
    """A typed count as the estimate reads it: unreadable or out of range counts as 0."""
    text = str(text or "").replace(" ", "").replace("\u00a0", "")
    return int(text) if text.isdigit() and int(text) <= 5000 else 0


def _declared(text) -> Decimal:
    number = decimal(str(text or "").replace("€", "").replace(" ", "").replace("\u00a0", "").replace(",", ".") or "0")
    return number if number is not None and number.is_finite() and 0 <= number <= 1_000_000 else Decimal(0)


def estimated(saved: dict, state: dict, rates: dict) -> dict:
    """The adhesion as the typed (not yet saved) figures would make it, for the amounts block
    beside a refusal: the same arithmetic as the API's (each line half-up to the cent), which
    stays the judge once the table is saved. The script of the page does the same live."""
    teachers = sum(_count(row.get("teacher_count")) for row in state["rows"])
    students = sum(_count(row.get("student_count")) for row in state["rows"])
    rate = {key: decimal(value) for key, value in rates.items()}  # dates come out as None, unused here
    goods, instruments = _declared(state.get("goods_value")), _declared(state.get("instruments_value"))
    membership = to_cents(students * rate["fee_per_student"] + teachers * rate["fee_per_adult"]
                          + rate["fee_per_cooperative"])
    zero = to_cents(Decimal(0))
    insured = bool(state.get("insurance"))

    def premium(value: Decimal, kind: str) -> Decimal:
        return to_cents(max(Decimal(0), value - rate[f"{kind}_threshold"]) * rate[f"{kind}_rate"])

    amounts = {
        "membership": membership,
        "insurance": to_cents((teachers + students) * rate["insurance_per_cooperator"]) if insured else zero,
        "goods": premium(goods, "goods") if insured else zero,
        "instruments": premium(instruments, "instruments") if insured else zero,
    }
    amounts["total"] = sum(amounts.values())
    return {**saved, "insurance": insured, "goods_value": goods, "instruments_value": instruments,
            "totals": {"teachers": teachers, "students": students, "cooperators": teachers + students},
            "amounts": amounts}


WAYS = ("transfer", "cheque", "other")


def next_steps(adhesion: dict, dues: dict | None) -> dict:
    """« Et maintenant ? »: the amount, each chosen way to pay with its instructions, the
    engagement du mandataire, and the state of each item as the services know it."""
    department = adhesion.get("department") or {}
    chosen = [way for way in WAYS if adhesion["payment"].get(way)] or list(WAYS)
    checklist = adhesion["checklist"]
    if dues is not None:
        status, paid = dues["status"], decimal(dues["amount_paid"])
        due, balance = decimal(dues["amount_due"]), decimal(dues["balance"])
        reference = dues.get("reference_display") or dues.get("reference")
    else:  # the payment service is not reachable: the adhesion's own copy of the payment state
        paid, due = decimal(checklist["amount_paid"]), decimal(checklist["amount_due"])
        balance = due - paid
        status = "unpaid" if paid == 0 else "paid" if paid == due else "partial" if paid < due else "overpaid"
        reference = None
    return {
        "amount": eur(adhesion["amounts"]["total"]),
        "ways": chosen,
        "department": department,
        "payee": department.get("payee") or department.get("name") or "",
        "reference": reference,
        "payment": {"status": status, "paid": eur(paid), "due": eur(due), "balance": eur(balance)},
        "engagement_received": bool(checklist["engagement_signed"]),
        "change_form": checklist["change_form"],
        "late": bool(adhesion.get("late")),
    }
