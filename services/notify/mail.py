"""Composing the French emails of the notify service: pure, no network, no database."""
import email
import email.policy
import email.utils
import re
from email.message import EmailMessage
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from shared.money import format_eur

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
}
COMMON_KEYS = ("cooperative", "department", "year")
# a staff member's own link has no cooperative
WITHOUT_COOPERATIVE = {"password_reset"}
# the guide's three payment questions, as an answer reads back
PAYMENT_MEANS = {
    "transfer": "par la collecte et/ou par virement",
    "cheque": "par chèque",
    "other": "par un autre moyen (mairie et/ou sou des écoles)",
}


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def one_line(text) -> str:
    """A value as a header holds it: line breaks of every kind (CR, LF, U+0085, U+2028,
    U+2029) and tabs become one space, other control characters go. The services refuse
    them in names now; an event written before still carries them, and a header with a
    line break cannot be encoded at all."""
    return _CONTROL.sub("", " ".join(str(text).split()))


def _phone(number: str | None) -> str:
    return f"Tél. {number}" if number else ""


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
    text = _env.get_template(f"{kind}.txt").render(values)
    html = _env.get_template(f"{kind}.html").render(values)

    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = mail_from
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
