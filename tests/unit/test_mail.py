import email.utils
from decimal import Decimal
from email import message_from_bytes, policy

import pytest

from services.notify.mail import compose

KINDS = ("submission_ack", "correction_requested", "validation_confirmation", "renewal_reminder")
MESSAGE_ID = "<validation-0382296P00-2025-2026-v1@retkoop.local>"
MAIL_FROM = "Retkoop OCCE <retkoop@occe.local>"
TO = "ce.0382296P@ac-grenoble.fr"
PDF = b"%PDF-1.4\n% fake but recognisable\n%%EOF\n"


def make_context(**extra):
    context = {
        "cooperative": {"number": "0382296P00", "name": "École Élémentaire Jean Moulin", "town": "VIENNE"},
        "department": {"code": "38", "name": "OCCE de l'Isère"},
        "year": "2025-2026",
        "amount_due": Decimal("1157.11"),
        "amount_paid": Decimal("439.25"),
        "payment": {"transfer": False, "cheque": True, "other": False},
        "message": "Merci de préciser le nombre d'élèves.",
        "registration_code": "26/0001 A",
        "insurance": True,
        "public_base_url": "http://127.0.0.1:8000/",
    }
    context.update(extra)
    return context


def parts(message):
    return message.get_body(("plain",)).get_content(), message.get_body(("html",)).get_content()


@pytest.mark.parametrize("kind", KINDS)
def test_headers_and_both_parts(kind):
    message = compose(kind, TO, make_context(), MESSAGE_ID, MAIL_FROM)
    assert message["Message-ID"] == MESSAGE_ID
    assert message["To"] == TO
    assert message["From"] == "OCCE de l'Isère <retkoop@occe.local>"  # the department's name, the install's address
    assert email.utils.parsedate_to_datetime(message["Date"]) is not None
    assert message.get_content_type() == "multipart/alternative"
    text, html = parts(message)
    assert "Bonjour" in text and "Bonjour" in html
    assert "0382296P00" in text and "0382296P00" in html
    assert html.lstrip().startswith("<!DOCTYPE html>") and 'lang="fr"' in html
    assert message.get_body(("plain",)).get_content_charset() == "utf-8"


@pytest.mark.parametrize(
    "kind, subject, phrases",
    [
        (
            "submission_ack",
            "Retkoop – Adhésion 2025-2026 : saisie reçue",
            [
                "L'adhésion est saisie",
                "1 157,11 €",
                "L'adhésion et l'assurance ne sont effectives qu'à la réception du paiement par l'OCCE 38",
                "par chèque",
            ],
        ),
        (
            "correction_requested",
            "Retkoop – Adhésion 2025-2026 : correction demandée",
            [
                "L'adhésion est saisie, mais elle doit être corrigée. "
                "L'OCCE 38 a besoin d'informations complémentaires",
                "Merci de préciser le nombre d",
            ],
        ),
        (
            "validation_confirmation",
            "Votre adhésion et votre assurance 2025-2026 sont validées",
            [
                "L'adhésion est saisie, et a été validée. Bravo !",
                "26/0001 A",
                "439,25 €",
                "La Coopérative Scolaire 0382296P00 est bien adhérente de l'OCCE 38 "
                "pour l'année scolaire 2025 - 2026.",
                "attestation d'adhésion",
                "certificat d'assurance",
            ],
        ),
        (
            "renewal_reminder",
            "Retkoop – Renouvelez votre adhésion 2025-2026",
            [
                "Cette année, l'adhésion à l'OCCE 38 se renouvelle entre le 1er et le 30 septembre.",
                "identifiant",
                "http://127.0.0.1:8000",
            ],
        ),
    ],
)
def test_french_content(kind, subject, phrases):
    message = compose(kind, TO, make_context(), MESSAGE_ID, MAIL_FROM)
    assert message["Subject"].startswith(subject)
    text, html = parts(message)
    for phrase in phrases:
        assert phrase in text
        # apostrophes typed in templates stay as is; only interpolated values are escaped
        assert phrase.replace("d'élèves", "d&#39;élèves") in html or phrase in html


def test_validation_subject_is_exact():
    message = compose("validation_confirmation", TO, make_context(), MESSAGE_ID, MAIL_FROM)
    # the school and the year, so a mailbox of several schools or years tells them apart
    assert message["Subject"] == (
        "Votre adhésion et votre assurance 2025-2026 sont validées : École Élémentaire Jean Moulin (0382296P00)")


def test_contact_block_and_reply_to_the_department():
    context = make_context()
    context["department"] = {**context["department"], "address": "12 rue des Écoles, 38000 Grenoble",
                             "phone": "04 76 00 00 00", "email": "contact@occe38.example"}
    for kind in KINDS:
        message = compose(kind, TO, context, MESSAGE_ID, MAIL_FROM)
        assert message["Reply-To"] == "contact@occe38.example", kind
        text, html = parts(message)
        for line in ("12 rue des Écoles, 38000 Grenoble", "Tél. 04 76 00 00 00", "contact@occe38.example"):
            assert line in text and line in html, (kind, line)
        assert "merci de ne pas y répondre" not in text
    bare = compose("submission_ack", TO, make_context(), MESSAGE_ID, MAIL_FROM)
    assert bare["Reply-To"] is None  # no mailbox known: no Reply-To, and the robot says so
    assert "merci de ne pas y répondre" in parts(bare)[0]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("year", ["2025-2026", "2099-2100"])
def test_subject_survives_the_wire(kind, year):
    # header folding can drop the space between two encoded words (CPython gh-144156)
    message = compose(kind, TO, make_context(year=year), MESSAGE_ID, MAIL_FROM)
    raw = message.as_bytes(policy=policy.SMTP)
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert message_from_bytes(raw, policy=policy.default)["Subject"] == message["Subject"]


def test_bodies_are_7bit_on_the_wire():
    message = compose("submission_ack", TO, make_context(), MESSAGE_ID, MAIL_FROM, [("a.pdf", PDF)])
    message.as_bytes(policy=policy.SMTP).decode("ascii")


def test_validation_without_insurance_mentions_only_the_attestation():
    message = compose("validation_confirmation", TO, make_context(insurance=False), MESSAGE_ID, MAIL_FROM)
    text, html = parts(message)
    assert "attestation d'adhésion" in text and "certificat" not in text
    assert "certificat" not in html


def test_submission_lists_every_chosen_payment_and_none_when_absent():
    both = make_context(payment={"transfer": True, "cheque": True, "other": True})
    text, _ = parts(compose("submission_ack", TO, both, MESSAGE_ID, MAIL_FROM))
    assert "par la collecte et/ou par virement" in text and "par chèque" in text and "sou des écoles" in text
    text, _ = parts(compose("submission_ack", TO, make_context(payment=None), MESSAGE_ID, MAIL_FROM))
    assert "paiement choisi" not in text
    assert "1 157,11 €" in text


def test_department_code_makes_the_occe_name():
    context = make_context(department={"code": "73", "name": "OCCE de la Savoie"})
    text, html = parts(compose("renewal_reminder", TO, context, MESSAGE_ID, MAIL_FROM))
    assert "l'adhésion à l'OCCE 73 se renouvelle" in text
    assert "OCCE 38" not in text and "OCCE 38" not in html


def test_attachments_are_pdfs_with_their_names():
    files = [("attestation-0382296P00-2025-2026.pdf", PDF), ("certificat-0382296P00-2025-2026.pdf", PDF + b"2")]
    message = compose("validation_confirmation", TO, make_context(), MESSAGE_ID, MAIL_FROM, files)
    assert message.get_content_type() == "multipart/mixed"
    found = [(part.get_filename(), part.get_content_type(), part.get_content()) for part in message.iter_attachments()]
    assert found == [(name, "application/pdf", data) for name, data in files]
    # the alternative text/HTML body survives next to the attachments
    assert "Bravo" in message.get_body(("plain",)).get_content()


def test_round_trips_through_bytes():
    files = [("attestation.pdf", PDF)]
    message = compose("validation_confirmation", TO, make_context(), MESSAGE_ID, MAIL_FROM, files)
    parsed = message_from_bytes(message.as_bytes(policy=policy.SMTP), policy=policy.default)
    assert parsed["Subject"] == message["Subject"]
    assert parsed["Message-ID"] == MESSAGE_ID
    assert next(parsed.iter_attachments()).get_content() == PDF
    assert "Coopérative Scolaire 0382296P00" in parsed.get_body(("plain",)).get_content()


def test_html_escapes_the_staff_message_and_keeps_its_lines():
    hostile = "<script>alert('x')</script>\nDeuxième ligne & fin"
    message = compose("correction_requested", TO, make_context(message=hostile), MESSAGE_ID, MAIL_FROM)
    text, html = parts(message)
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;<br>" in html
    assert "Deuxième ligne &amp; fin" in html
    assert hostile in text  # plain text is shown as typed


def test_html_escapes_cooperative_fields():
    context = make_context(cooperative={"number": "0382296P00", "name": "<b>Jean</b> Moulin", "town": "VIENNE"})
    _, html = parts(compose("submission_ack", TO, context, MESSAGE_ID, MAIL_FROM))
    assert "<b>Jean</b>" not in html and "&lt;b&gt;Jean&lt;/b&gt; Moulin" in html


def test_unknown_kind_raises():
    with pytest.raises(ValueError):
        compose("newsletter", TO, make_context(), MESSAGE_ID, MAIL_FROM)


def test_missing_context_raises():
    context = make_context()
    del context["registration_code"]
    with pytest.raises(ValueError, match="registration_code"):
        compose("validation_confirmation", TO, context, MESSAGE_ID, MAIL_FROM)


def test_header_injection_is_refused():
    with pytest.raises(ValueError):
        compose("renewal_reminder", "a@b.fr\r\nBcc: victim@example.org", make_context(), MESSAGE_ID, MAIL_FROM)


# --- issue 25: what teachers read -------------------------------------------------------------

RHONE = {"code": "69", "name": "OCCE du Rhône", "sender_name": "OCCE du Rhône – Adhésions",
         "payee": "OCCE 69", "iban": "FR7630006000011234567890189", "bic": "AGRIFRPP",
         "address": "2 rue de la République, 69001 Lyon"}


def test_the_reminder_quotes_the_departments_own_window_and_the_self_service_reset():
    context = make_context(department=RHONE, renewal_opens="2025-09-01", renewal_closes="2025-10-15")
    text, html = parts(compose("renewal_reminder", TO, context, MESSAGE_ID, MAIL_FROM))
    for body in (text, html):
        assert "entre le 1er septembre et le 15 octobre" in body
        assert "30 septembre" not in body
        assert "http://127.0.0.1:8000/mot-de-passe/perdu" in body
        assert "perdus : contactez" not in body


def test_each_email_comes_from_its_departments_sender():
    for kind in KINDS:
        message = compose(kind, TO, make_context(department=RHONE), MESSAGE_ID, MAIL_FROM)
        [sender] = message["From"].addresses
        assert (sender.display_name, sender.addr_spec) == ("OCCE du Rhône – Adhésions", "retkoop@occe.local"), kind
    # a department without a sender name: its name; nothing at all: MAIL_FROM as it is
    message = compose("submission_ack", TO, make_context(department={"code": "73", "name": ""}), MESSAGE_ID,
                      MAIL_FROM)
    assert message["From"] == MAIL_FROM


def test_a_school_without_insurance_is_not_told_its_insurance_is_validated():
    message = compose("validation_confirmation", TO, make_context(insurance=False), MESSAGE_ID, MAIL_FROM)
    assert message["Subject"] == "Votre adhésion 2025-2026 est validée : École Élémentaire Jean Moulin (0382296P00)"
    assert "assurance" not in message["Subject"]


@pytest.mark.parametrize("name", ["Coopérative scolaire École Jean Moulin", "COOPERATIVE SCOLAIRE ECOLE JEAN MOULIN",
                                  "Coop. scolaire École Jean Moulin", "  Coopérative   Scolaire École Jean Moulin"])
def test_the_cooperative_is_never_named_twice(name):
    context = make_context(cooperative={"number": "0382296P00", "name": name, "town": "VIENNE"})
    for kind in KINDS:
        text, html = parts(compose(kind, TO, context, MESSAGE_ID, MAIL_FROM))
        for body in (text, html):
            plain = " ".join(body.casefold().replace("é", "e").replace("<strong>", "").split())
            assert "scolaire coop" not in plain, (kind, body)
            assert " ".join(name.split()).casefold().replace("é", "e") in plain


def test_the_submission_ack_says_how_to_pay_with_the_reference_and_the_iban_by_four():
    context = make_context(department=RHONE, payment={"transfer": True, "cheque": True, "other": False})
    text, html = parts(compose("submission_ack", TO, context, MESSAGE_ID, MAIL_FROM))
    for body in (text, html):
        assert "Comment payer" in body
        assert "RF37 2603 8229 6P00" in body  # payment's own rule (shared.payment_reference)
        assert "FR76 3000 6000 0112 3456 7890 189" in body and "BIC AGRIFRPP" in body.replace("<strong>", "").replace(
            "</strong>", "")
        assert "à l'ordre de" in body.replace("&#39;", "'")
        assert "sou des écoles" not in body.split("Comment payer")[1]  # a way not chosen is not explained
