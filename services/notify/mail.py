"""Composing the French emails of the notify service: pure, no network, no database."""
import email
import email.headerregistry
import email.policy
import email.utils
import re
from datetime import date
from email.message import EmailMessage
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from shared.money import format_eur
from shared.names import cooperative_label
from shared.payment_reference import format_iban, format_reference, payment_reference

# kind -> (subject template, context keys the templates cannot do without)
KINDS = {
    "submission_ack": ("Retkoop – Adhésion {year} : saisie reçue", ("amount_due",)),
    "correction_requested": ("Retkoop – Adhésion {year} : correction demandée", ("message",)),
    # No « – » in it: Python 3.11 folds a long subject between two encoded words and the
    # space before a dash is lost on decoding (CPython gh-144156).
    "validation_confirmation": (
        "Votre adhésion et votre assurance {year} sont validées : {school} ({number})",
        ("registration_code", "amount_paid"),
    ),
    "renewal_reminder": ("Retkoop – Renouvelez votre adhésion {year}", ()),
    "invitation": ("Votre accès à l'adhésion OCCE", ("url", "login")),
    "password_reset": ("Retkoop : choisir un nouveau mot de passe", ("url", "login")),
    "direct_debit_notice": ("Retkoop – Adhésion {year} : avis de prélèvement", ("amount", "collection_date", "rum", "ics")),
    "direct_debit_returned": ("Retkoop – Adhésion {year} : prélèvement rejeté", ("amount", "reason", "rum")),
    "direct_debit_returned_staff": ("Prélèvement rejeté : {school} ({number})", ("amount", "reason", "rum")),
    "payment_reversed": ("Retkoop – Adhésion {year} : paiement annulé", ("amount", "reason", "balance", "reference")),
    "crf_ack": ("Retkoop : compte rendu financier {year} reçu", ("result", "closing")),
    "crf_returned": ("Retkoop : compte rendu financier {year} à corriger", ("message",)),
    "crf_reminder": ("Retkoop : envoyez votre compte rendu financier {year}", ("deadline_text",)),
}
# a school that did not take the insurance is not told its insurance is validated
UNINSURED_VALIDATION_SUBJECT = "Votre adhésion {year} est validée : {school} ({number})"
COMMON_KEYS = ("cooperative", "department", "year")
# a staff member's own link has no cooperative
WITHOUT_COOPERATIVE = {"password_reset"}
# the guide's three payment questions, as an answer reads back
PAYMENT_MEANS = {
    "transfer": "par la collecte et/ou par virement",
    "cheque": "par chèque",
    "other": "par un autre moyen (mairie et/ou sou des écoles)",
    "direct_debit": "par prélèvement",
}

# how a cancelled payment had been made, in a sentence: « le paiement de 134,60 € par chèque »
PAID_BY = {"cheque": "par chèque", "transfer": "par virement", "direct_debit": "par prélèvement",
           "cash": "en espèces", "collect": "par la collecte", "mairie": "par la mairie",
           "sou_des_ecoles": "par le sou des écoles"}


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def one_line(text) -> str:
    """A value as a header holds it: line breaks of every kind (CR, LF, U+0085, U+2028,
    U+2029) and tabs become one space, other control characters go. The services refuse
    them in names now; an event written before still carries them, and a header with a
    line break cannot be encoded at all."""
    return _CONTROL.sub("", " ".join(str(text).split()))


def _phone(number: str | None) -> str:
    return f"Tél. {number}" if number else ""


MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
          "novembre", "décembre")
# where a school chooses a new password itself (web/passwords.py)
LOST_PASSWORD_PATH = "/mot-de-passe/perdu"


def _day(day: date) -> tuple[str, str]:
    return ("1er" if day.day == 1 else str(day.day)), MONTHS[day.month - 1]


def renewal_window(opens, closes) -> str:
    """« le 1er et le 30 septembre », « le 1er septembre et le 15 octobre »: the department's
    own window (the guide's September when an older event does not carry it)."""
    opens = date.fromisoformat(str(opens)) if opens else date(2025, 9, 1)
    closes = date.fromisoformat(str(closes)) if closes else date(2025, 9, 30)
    (first, first_month), (last, last_month) = _day(opens), _day(closes)
    if first_month == last_month:
        return f"le {first} et le {last} {last_month}"
    return f"le {first} {first_month} et le {last} {last_month}"


def _nl2br(text: str) -> Markup:
    """Escape first, then keep the author's line breaks visible in HTML."""
    return Markup("<br>\n").join(escape(line) for line in str(text).splitlines())


_env = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    # .html escaped, .txt left as typed: plain text has nothing to inject into
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_env.filters["eur"] = format_eur
_env.filters["nl2br"] = _nl2br
_env.filters["label"] = cooperative_label  # « Coopérative Scolaire … », never twice
_env.filters["iban"] = format_iban


def sender(mail_from: str, department: dict) -> str:
    """The From of a department's email: its sender name (« OCCE du Rhône ») on the
    install's address (MAIL_FROM's, the one the relay and SPF allow); MAIL_FROM as it is
    when the department has no name yet."""
    name = one_line(department.get("sender_name") or department.get("name") or "")
    if not name:
        return mail_from
    _, address = email.utils.parseaddr(mail_from)
    return email.headerregistry.Address(display_name=name, addr_spec=address).__str__() if address else mail_from


def compose(
    kind: str,
    to: str,
    context: dict,
    message_id: str,
    mail_from: str,
    attachments: list[tuple[str, bytes]] = (),
) -> EmailMessage:
    """One ready-to-send message: text + HTML alternatives, then the PDFs attached."""
    if kind not in KINDS:
        raise ValueError(f"unknown email kind: {kind!r}")
    subject_template, required = KINDS[kind]
    missing = [key for key in COMMON_KEYS + required if context.get(key) is None
               and not (key == "cooperative" and kind in WITHOUT_COOPERATIVE)]
    if missing:
        raise ValueError(f"{kind}: missing context {', '.join(missing)}")
    if not (message_id.startswith("<") and message_id.endswith(">") and "@" in message_id):
        raise ValueError(f"Message-ID must look like <id@domain>: {message_id!r}")

    year = str(context["year"])
    cooperative = context["cooperative"] or {}  # a staff account's reset link has none
    if kind == "validation_confirmation" and not context.get("insurance"):
        subject_template = UNINSURED_VALIDATION_SUBJECT
    subject = subject_template.format(year=one_line(year), school=one_line(cooperative.get("name", "")),
                                      number=one_line(cooperative.get("number", "")))
    department = context["department"]
    payment = context.get("payment") or {}
    values = {
        "payment": None,
        "insurance": False,
        "public_base_url": None,
        **context,
        "subject": subject,
        "occe": f"OCCE {department['code']}",
        # the association's contact block, at the foot of every email (what is known of it)
        "reply_to": department.get("email") or "",
        "contact": [line for line in (department.get("address"), _phone(department.get("phone")),
                                      department.get("email")) if line],
        "payment_means": [label for key, label in PAYMENT_MEANS.items() if payment.get(key)],
        # the guide writes the year with spaced dash in sentences: « 2025 - 2026 »
        "year_text": year.replace("-", " - "),
    }
    values["public_base_url"] = (values["public_base_url"] or "").rstrip("/") or None
    if kind in ("submission_ack", "payment_reversed"):  # how to pay: the reference is the payment service's own rule
        values["reference"] = format_reference(payment_reference(str(cooperative["number"]), year))
        values["payee"] = department.get("payee") or department.get("name") or values["occe"]
        values["ways"] = [key for key in PAYMENT_MEANS if payment.get(key)] or list(PAYMENT_MEANS)
        # the sum the « Comment payer » block asks for: the whole due, or what a reversal left
        values["to_pay"] = context["balance"] if kind == "payment_reversed" else context["amount_due"]
        values["paid_by"] = PAID_BY.get(context.get("method") or "", "")
    values["lost_password_url"] = values["public_base_url"] + LOST_PASSWORD_PATH if values["public_base_url"] else None
    values["window"] = renewal_window(context.get("renewal_opens"), context.get("renewal_closes"))
    text = _env.get_template(f"{kind}.txt").render(values)
    html = _env.get_template(f"{kind}.html").render(values)

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender(mail_from, department)
    message["To"] = to
    message["Date"] = email.utils.formatdate(localtime=True)
    message["Message-ID"] = message_id
    if department.get("email"):  # the school's answer goes to the association, not to a robot
        message["Reply-To"] = department["email"]
    # RFC 3834: stops out-of-office robots from answering an automatic mail
    message["Auto-Submitted"] = "auto-generated"
    message["X-Retkoop-Kind"] = kind
    # quoted-printable keeps the wire 7-bit: short French lines would otherwise go out as 8bit
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    for filename, data in attachments:
        message.add_attachment(data, maintype="application", subtype="pdf", filename=filename)
    return message


# the token of a password link, as the templates print it (secrets.token_urlsafe)
_LINK_TOKEN = re.compile(r"(/invitation/|/mot-de-passe/nouveau/)[A-Za-z0-9_-]{16,}")
REDACTED_TOKEN = "[jeton-retiré]"


def redacted(raw: bytes) -> bytes:
    """A stored message with the token of every password link taken out of its text and
    HTML parts (decoded first: quoted-printable or base64 would hide it from a byte
    search); the headers and the rest stay as sent."""
    message = email.message_from_bytes(raw, policy=email.policy.SMTP)
    for part in message.walk():
        if part.get_content_maintype() != "text" or part.is_attachment():
            continue
        text = part.get_content()
        clean = _LINK_TOKEN.sub(lambda m: m.group(1) + REDACTED_TOKEN, text)
        if clean != text:
            part.set_content(clean, subtype=part.get_content_subtype(), charset="utf-8")
    return message.as_bytes()
