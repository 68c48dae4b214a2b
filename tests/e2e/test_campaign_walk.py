"""Issue 25 in a real browser (Debian's Chromium, 1280 and 375 px, axe-core 0 violations)
against the whole system as processes, for a department whose staff named their email
sender apart from the association (« OCCE de l'Isère – Adhésions »):

- staff add a reminder date already past: refused, with what to do instead; a date not
  sent yet is removed;
- a school sends its adhesion: « Et maintenant ? » shows the payment reference at once
  (no reload, no wait for the payment service), the « saisie reçue » email carries the
  reference, the IBAN in groups of four and how to pay, from the department's sender;
  before sending, the insurance answer is explained and, the window closed, the school is
  told it will be late; the engagement PDF names the association, not the sender."""
import email
import email.policy
import io
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy
from playwright.sync_api import expect
from pypdf import PdfReader

from shared.payment_reference import format_reference, payment_reference
from tests.e2e.test_browser import (  # noqa: F401
    DESKTOP,
    PHONE,
    STAFF,
    YEAR,
    browser,
    create_cooperative_by_api,
    new_page,
    sign_in,
)
from tests.e2e.test_school_pages import checked
from tests.support import wait_for

SYSTEM_ENV = {"SCHOOL_YEAR": YEAR}  # the pages open this school year (its window closed on 30/09/2025)

DEPARTMENT = {
    "sender_name": "OCCE de l'Isère – Adhésions", "address": "12 rue des Écoles, 38000 Grenoble",
    "phone": "04 76 00 00 00", "email": "contact@occe38.example", "payee": "OCCE 38",
    "iban": "FR7630004000031234567890143", "bic": "BNPAFRPPXXX",
}


@pytest.fixture(scope="module", autouse=True)
def department_settings(stack):
    engine = sqlalchemy.create_engine(stack.settings.database_url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(
            "UPDATE adhesion.departments SET sender_name=:sender_name, address=:address, phone=:phone, email=:email, "
            "payee=:payee, iban=:iban, bic=:bic WHERE code='38'"), DEPARTMENT)
    engine.dispose()


def paris_today():
    return datetime.now(ZoneInfo("Europe/Paris")).date()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_a_past_reminder_date_is_refused_and_a_date_can_be_removed(stack, new_page, viewport):
    page = new_page(viewport)
    sign_in(page, *STAFF)
    page.goto(f"/personnel/campagne/{YEAR}")
    dates = page.locator("#relances")
    past = paris_today() - timedelta(days=18)
    page.locator("#nouvelle-date").fill(past.isoformat())
    dates.get_by_role("button", name="Enregistrer").click()
    alert = page.locator(".notice-error")
    expect(alert).to_contain_text(f"Date de relance passée ({past:%d/%m/%Y})")
    expect(alert).to_contain_text("Envoyer un rappel par e-mail")
    assert stack.call("get", f"/api/adhesion/reminders/{YEAR}/schedule", stack.login(*STAFF)).json()["items"] == []
    checked(page, "a past reminder date refused")

    later = paris_today() + timedelta(days=12)
    page.locator("#nouvelle-date").fill(later.isoformat())
    page.locator("#relances").get_by_role("button", name="Enregistrer").click()
    expect(page.locator("#dates-de-relance")).to_contain_text(f"{later:%d/%m/%Y} : prévue")
    checked(page, "a reminder date planned")
    page.get_by_role("button", name=f"Retirer la date du {later:%d/%m/%Y}").click()
    expect(page.locator(".notice-success")).to_be_visible()
    expect(page.locator("#dates-de-relance")).to_have_count(0)
    assert stack.call("get", f"/api/adhesion/reminders/{YEAR}/schedule", stack.login(*STAFF)).json()["items"] == []
    checked(page, "the reminder date removed")


def acknowledgement(stack, number):
    directory = stack.settings.data_dir.parent / "mailbox"
    for path in sorted(directory.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["X-Retkoop-Kind"] == "submission_ack" and message["To"] == f"ce.{number.lower()}@ac-grenoble.fr":
            return message
    return None


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "375"])
def test_the_reference_at_once_and_in_the_acknowledgement(stack, new_page, viewport, number):
    password = "reference-secret"
    create_cooperative_by_api(stack, number, password, name="Coopérative scolaire École des Tilleuls", town="MEYZIEU")
    page = new_page(viewport)
    sign_in(page, number, password)
    page.goto(f"/adhesion/{YEAR}")
    # before sending: what « non » to the insurance means, and that the window has closed
    expect(page.locator("#assurance-aide")).to_contain_text("une nouvelle coopérative commence à « non »")
    expect(page.locator("#insurance-non")).to_be_checked()
    expect(page.locator("#avertissement-retard")).to_contain_text(
        "La période de renouvellement est close depuis le 30/09/2025")
    # the heading names the cooperative once
    expect(page.locator("h1")).to_contain_text("Adhésion de la Coopérative scolaire École des Tilleuls, à MEYZIEU")
    checked(page, "the form, the window closed")

    page.locator("#classes-0-name").fill("ECOLE ENTIERE")
    page.locator("#classes-0-teacher_count").fill("2")
    page.locator("#classes-0-student_count").fill("48")
    page.locator("#pay_transfer-oui").check()
    page.get_by_role("button", name="Mettre à jour les informations").click()
    reference = format_reference(payment_reference(number, YEAR))
    steps = page.locator("#et-maintenant")
    # at once, on the page the sending answers with: no reload
    expect(steps.locator(".payment-reference")).to_have_text(reference, timeout=5_000)
    expect(steps).to_contain_text("IBAN : FR76 3000 4000 0312 3456 7890 143")
    checked(page, "« Et maintenant ? » right after sending")

    mail = wait_for(lambda: acknowledgement(stack, number), timeout=60, what="the « saisie reçue »")
    [sender] = mail["From"].addresses
    assert sender.display_name == DEPARTMENT["sender_name"]
    text = mail.get_body(("plain",)).get_content()
    assert reference in text
    assert "IBAN FR76 3000 4000 0312 3456 7890 143" in text and "BIC BNPAFRPPXXX" in text
    assert "Comment payer" in text and "Par virement" in text
    assert "Coopérative Scolaire Coopérative" not in text

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Engagement du mandataire (PDF)").click()
    pdf = " ".join(PdfReader(io.BytesIO(download_info.value.path().read_bytes())).pages[0].extract_text().split())
    assert "OCCE de l'Isère – Office Central de la Coopération à l'École" in pdf
    assert "Adhésions" not in pdf  # the email sender's name is not the association
    assert not re.search(r"Coopérative scolaire\s+Coopérative scolaire", pdf, re.I)
    assert "Coopérative scolaire École des Tilleuls" in pdf
