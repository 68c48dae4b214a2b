"""French display of what the APIs answer: amounts, years, statuses, dates."""
import os
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation

from flask import has_request_context, session
from markupsafe import Markup, escape

from shared import schoolyear
from shared.money import format_count_fee, format_eur

try:
    from zoneinfo import ZoneInfo

    FRANCE = ZoneInfo("Europe/Paris")
except Exception:  # no time zone database: show UTC
    FRANCE = timezone.utc

STATUS_LABELS = {
    "draft": "Brouillon (non envoyée)",
    "submitted": "Saisie",
    "correction_requested": "À corriger",
    "validated": "Validée",
}
METHOD_LABELS = {
    "cheque": "chèque",
    "transfer": "virement",
    "direct_debit": "prélèvement",
    "cash": "espèces",
    "collect": "collecte",
    "mairie": "mairie",
    "sou_des_ecoles": "sou des écoles",
    "other": "autre",
}
PAYMENT_STATUS_LABELS = {"unpaid": "non payé", "partial": "paiement partiel", "paid": "payé", "overpaid": "trop-perçu"}
CHANGE_FORM_LABELS = {"not_required": "pas nécessaire", "pending": "attendu", "received": "reçu"}
MAIL_KIND_LABELS = {
    "submission_ack": "accusé de réception",
    "correction_requested": "demande de correction",
    "validation_confirmation": "confirmation de validation",
    "renewal_reminder": "relance",
    "invitation": "invitation",
    "password_reset": "lien de mot de passe",
    "direct_debit_notice": "avis de prélèvement",
    "direct_debit_returned": "prélèvement rejeté",
    "direct_debit_returned_staff": "prélèvement rejeté (copie pour l'OCCE)",
    "payment_reversed": "paiement annulé",
    "crf_ack": "compte rendu financier reçu",
    "crf_returned": "compte rendu financier renvoyé",
    "crf_reminder": "relance du compte rendu financier",
}
MAIL_STATUS_LABELS = {"queued": "en attente", "sent": "envoyé", "failed": "échec", "skipped": "non envoyé"}


def decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def eur(value) -> str:
    """``"395.50"`` → ``395,50 €`` (the API carries money as strings)."""
    number = decimal(value)
    return format_eur(number) if number is not None else "—"


def fee(value) -> str:
    number = decimal(value)
    return format_count_fee(number) if number is not None else "—"


def amount_input(value) -> str:
    """An amount as a form shows it for editing: ``395,50``."""
    number = decimal(value)
    return f"{number:.2f}".replace(".", ",") if number is not None else ""


def rate_input(value) -> str:
    return str(value).replace(".", ",") if value not in (None, "") else ""


def year_label(year: str) -> str:
    return (year or "").replace("-", " - ")


def department_name(code: str | None) -> str:
    """The signed-in user's association as its row names it (read at login); a page that
    has the department's row shows its name instead. Unknown: the neutral ``OCCE 38``."""
    if has_request_context() and code and code == session.get("department") and session.get("department_name"):
        return session["department_name"]
    return short_department(code)


def short_department(code: str | None) -> str:
    return f"OCCE {code}" if code else "OCCE"


def local_datetime(value) -> str:
    """An ISO date-time of the API → ``12/09/2025 à 14:03`` (heure de Paris)."""
    if not value:
        return "—"
    return datetime.fromisoformat(value).astimezone(FRANCE).strftime("%d/%m/%Y à %H:%M")


def local_date(value) -> str:
    if not value:
        return "—"
    try:
        return date.fromisoformat(str(value)[:10]).strftime("%d/%m/%Y")
    except ValueError:
        return str(value)


def campaign_year() -> str:
    """The year the pages open by default: ``SCHOOL_YEAR`` when set, else today's."""
    return os.environ.get("SCHOOL_YEAR") or schoolyear.of(date.today())


def recent_years(around: str, before: int = 3, after: int = 1) -> list[str]:
    """The years a page offers, newest first: ``after`` years after ``around``, ``before`` before it."""
    years = [around]
    for _ in range(after):
        years.insert(0, schoolyear.following(years[0]))
    for _ in range(before):
        years.append(schoolyear.previous(years[-1]))
    return years


def register(app) -> None:
    app.jinja_env.filters.update(
        eur=eur, fee=fee, year_label=year_label, amount_input=amount_input, rate_input=rate_input,
        status_label=lambda s: STATUS_LABELS.get(s, s), method_label=lambda m: METHOD_LABELS.get(m, m),
        payment_status_label=lambda s: PAYMENT_STATUS_LABELS.get(s, s),
        change_form_label=lambda s: CHANGE_FORM_LABELS.get(s, s),
        mail_kind_label=lambda s: MAIL_KIND_LABELS.get(s, s),
        mail_status_label=lambda s: MAIL_STATUS_LABELS.get(s, s),
        local_datetime=local_datetime, local_date=local_date,
        department_name=department_name, short_department=short_department,
    )


MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")


def day_label(day: date):
    number = Markup("1<sup>er</sup>") if day.day == 1 else str(day.day)
    return number, MONTHS[day.month - 1]


def renewal_window(rates: dict | None):
    """« 1er et le 30 septembre » from the year's rates (the guide's words by default)."""
    try:
        opens = date.fromisoformat(rates["renewal_opens"])
        closes = date.fromisoformat(rates["renewal_closes"])
    except (TypeError, KeyError, ValueError):
        opens, closes = date(2025, 9, 1), date(2025, 9, 30)
    (first, first_month), (last, last_month) = day_label(opens), day_label(closes)
    if first_month == last_month:
        return Markup("{} et le {} {}").format(first, last, escape(last_month))
    return Markup("{} {} et le {} {}").format(first, escape(first_month), last, escape(last_month))
