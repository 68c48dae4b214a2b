"""Issue 11 in a real browser (Debian's Chromium through Playwright, 1280 and 375 px) against
the whole system as processes: a teacher never loses a figure and always knows what comes
next. Every page state is checked with axe-core (0 violations, whatever their impact) and,
at 375 px, for horizontal scroll."""
import email
import email.policy
import io
import re
from decimal import Decimal

import pytest
import sqlalchemy
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from shared import schoolyear
from shared.money import format_eur
from tests.e2e.test_browser import (  # noqa: F401
    DESKTOP,
    PHONE,
    STAFF,
    YEAR,
    browser,
    create_cooperative_by_api,
    new_page,
    reload_until,
    shot,
    sign_in,
)
from tests.quiet import quiet
from tests.support import GUIDE, wait_for
from tests.unit.test_adhesion_domain import PRICING_CASES

SYSTEM_ENV = {"SCHOOL_YEAR": YEAR}  # the pages open this school year

AXE = Axe()
DEPARTMENT = {  # what staff type in the department's settings (issue 10 builds that page)
    "sender_name": "OCCE 38", "address": "12 rue des Écoles, 38000 Grenoble", "phone": "04 76 00 00 00",
    "email": "contact@occe38.example", "payee": "OCCE 38 – Association départementale",
    "iban": "FR76 3000 4000 0312 3456 7890 143", "bic": "BNPAFRPPXXX",
}


@pytest.fixture(scope="module", autouse=True)
def department_settings(stack):
    engine = sqlalchemy.create_engine(stack.settings.database_url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text(
            "UPDATE adhesion.departments SET sender_name=:sender_name, address=:address, phone=:phone, email=:email, "
            "payee=:payee, iban=:iban, bic=:bic WHERE code='38'"), DEPARTMENT)
    engine.dispose()


def accessible(page: Page, what: str) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, f"{what}:\n{results.generate_report()}"


def fits(page: Page, what: str) -> None:
    width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"{what}: {width[0]} px wide on a {width[1]} px screen"


def checked(page: Page, what: str) -> None:
    """axe at this size, and the same page state at the other size (no sideways scroll at 375)."""
    accessible(page, what)
    size = page.viewport_size
    page.set_viewport_size(PHONE if size["width"] > PHONE["width"] else DESKTOP)
    accessible(page, f"{what} ({page.viewport_size['width']} px)")
    if page.viewport_size["width"] == PHONE["width"]:
        fits(page, what)
    page.set_viewport_size(size)
    if size["width"] == PHONE["width"]:
        fits(page, what)


def saved(stack, number: str, password: str) -> dict:
    return stack.call("get", f"/api/adhesion/adhesions/{number}/{YEAR}", stack.login(number, password)).json()


def school_on_form(stack, new_page, number: str, password: str, viewport=DESKTOP, **coop) -> Page:
    create_cooperative_by_api(stack, number, password, **coop)
    page = new_page(viewport)
    sign_in(page, number, password)
    expect(page).to_have_url(re.compile(r"/accueil$"))
    page.goto(f"/adhesion/{YEAR}")
    return page


def test_mistyped_and_empty_counts_are_refused_beside_the_field(stack, new_page):
    school = school_on_form(stack, new_page, "0380011A00", "compte-secret")
    school.locator("#classes-0-name").fill("CP")
    school.locator("#classes-0-teacher_count").fill("1")
    school.locator("#classes-0-student_count").fill("28e")  # a text field: the letter stays and is seen
    school.get_by_role("button", name="Valider et calculer", exact=True).click()
    error = school.locator("#classes-0-student_count-error")
    expect(error).to_have_text(re.compile("Nombre entier attendu, en chiffres seulement"))
    expect(school.locator("#classes-0-student_count")).to_have_value("28e")
    expect(school.locator("#classes-0-student_count")).to_have_attribute("aria-invalid", "true")
    expect(school.locator("#probleme")).to_contain_text("Le tableau n'est pas enregistré")
    expect(school.locator(".notice-success")).to_have_count(0)
    field_box, error_box = school.locator("#classes-0-student_count").bounding_box(), error.bounding_box()
    assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 40  # right under its field
    assert saved(stack, "0380011A00", "compte-secret")["classes"] == []  # nothing saved
    checked(school, "a mistyped count")
    shot(school, "30-ecole-nombre-mal-ecrit")

    school.locator("#classes-0-student_count").fill("")
    school.get_by_role("button", name="Valider et calculer", exact=True).click()
    expect(school.locator("#classes-0-student_count-error")).to_have_text(re.compile("Indiquez un nombre"))
    assert saved(stack, "0380011A00", "compte-secret")["classes"] == []  # never a 0
    checked(school, "an empty count")

    # the summary's amounts follow the typed figures, not the last saved ones
    school.locator("#classes-0-teacher_count").fill("10")
    school.locator("#classes-0-student_count").fill("165")
    school.locator("#insurance-oui").check()
    school.get_by_role("button", name="+ Ajouter une ligne").click()
    school.locator("#classes-1-name").fill("CE1")
    school.locator("#classes-1-teacher_count").fill("1")
    school.locator("#classes-1-student_count").fill("2O")  # a letter O for a zero
    school.locator("#goods_value").fill("2500000")
    school.get_by_role("button", name="Valider et calculer", exact=True).click()
    expect(school.locator("#classes-1-student_count-error")).to_be_visible()
    # 176 coopérateurs as typed (« 2O » unreadable: 0): 176 × 2,26 + 176 × 0,25
    expect(school.locator("table.amounts tr.total")).to_contain_text("441,76 €")
    expect(school.locator("#montant-etat")).to_contain_text("pas encore enregistré")
    assert saved(stack, "0380011A00", "compte-secret")["classes"] == []
    school.locator("#classes-1-student_count").fill("20")
    school.get_by_role("button", name="Valider et calculer", exact=True).click()
    # the API's bound, in the French number format
    expect(school.locator("#goods_value-error")).to_have_text(
        re.compile("Doit être compris entre 0,00 € et 1 000 000,00 €"))
    # 196 coopérateurs: 196 × 2,26 + 196 × 0,25, the refused declared value counting for nothing
    expect(school.locator("table.amounts tr.total")).to_contain_text("491,96 €")
    checked(school, "the refusal with its summary")
    shot(school, "31-ecole-resume-des-erreurs")


def test_an_expired_session_keeps_what_was_typed(stack, new_page):
    school = school_on_form(stack, new_page, "0380012B00", "expire-secret", viewport=PHONE)
    school.locator("#classes-0-name").fill("CM1")
    school.locator("#classes-0-teachers").fill("Mme Roux roux@ac-grenoble.fr")
    school.locator("#classes-0-teacher_count").fill("1")
    school.locator("#classes-0-student_count").fill("24")
    school.locator("#pay_cheque-oui").check()
    # the session cookie expires while the teacher was typing (the browser's other cookies stay)
    school.context.clear_cookies(name="retkoop_session")
    school.get_by_role("button", name="Valider et calculer", exact=True).click()
    expect(school).to_have_url(re.compile(r"/connexion$"))
    expect(school.get_by_role("status")).to_contain_text("Ce que vous avez saisi est gardé")
    checked(school, "the login page after an expired session")
    shot(school, "32-ecole-session-expiree")
    sign_in(school, "0380012b00", "expire-secret")  # the number in small letters works too
    expect(school).to_have_url(re.compile(rf"/adhesion/{YEAR}$"))
    expect(school.locator("#classes-0-name")).to_have_value("CM1")
    expect(school.locator("#classes-0-teachers")).to_have_value("Mme Roux roux@ac-grenoble.fr")
    expect(school.locator("#classes-0-student_count")).to_have_value("24")
    expect(school.locator("#pay_cheque-oui")).to_be_checked()
    expect(school.get_by_role("status").first).to_contain_text("rien n'est encore enregistré")
    assert saved(stack, "0380012B00", "expire-secret")["classes"] == []
    checked(school, "the form given back")
    school.get_by_role("button", name="Valider et calculer", exact=True).click()
    expect(school.locator(".notice-success")).to_contain_text("Le tableau est enregistré")
    assert [c["student_count"] for c in saved(stack, "0380012B00", "expire-secret")["classes"]] == [24]
    # another school signing in on that browser never gets the form
    create_cooperative_by_api(stack, "0380013C00", "autre-secret")
    school.get_by_label("Nombre d'élèves").first.fill("99")
    school.context.clear_cookies(name="retkoop_session")
    school.get_by_role("button", name="Valider et calculer", exact=True).click()
    sign_in(school, "0380013C00", "autre-secret")
    expect(school).to_have_url(re.compile(r"/accueil$"))


AMOUNT_KEYS = ("membership", "insurance", "goods", "instruments", "total")


def quoted(stack, token: str, number: str, classes: list, insurance: bool, goods: str = "",
           instruments: str = "") -> dict[str, str]:
    """The adhesion service's quote of figures as typed, each amount as the pages write it."""
    response = stack.call("post", "/api/adhesion/quote", token, json={
        "cooperative": number, "year": YEAR, "insurance": insurance, "goods_value": goods,
        "instruments_value": instruments,
        "classes": [{"teacher_count": t, "student_count": s} for t, s in classes]})
    assert response.status_code == 200, response.text
    return {key: format_eur(Decimal(response.json()["amounts"][key])) for key in AMOUNT_KEYS}


def expect_amounts(page: Page, amounts: dict[str, str]) -> None:
    """The lines show these amounts, once the answer to the last figures typed is in."""
    expect(page.locator("table.amounts")).not_to_have_attribute("aria-busy", "true")
    for key, amount in amounts.items():
        expect(page.locator(f"#ligne-{key} .num")).to_have_text(amount)


def test_live_amounts_and_a_row_added_in_place(stack, new_page):
    school = school_on_form(stack, new_page, "0380014D00", "direct-secret")
    token = stack.login("0380014D00", "direct-secret")
    school.evaluate("window.samePage = true")
    school.locator("#insurance-oui").check()
    school.locator("#classes-0-name").fill("ECOLE ENTIERE")
    school.locator("#classes-0-teacher_count").fill("10")
    school.locator("#classes-0-student_count").fill("165")
    total = school.locator("table.amounts tr.total")
    expect(total).to_contain_text("439,25 €")  # nothing clicked
    # every line is the service's figure, to the cent
    expect_amounts(school, quoted(stack, token, "0380014D00", [("10", "165")], True))
    expect(school.locator("#ligne-membership")).to_contain_text("des coopérateurs (175 x 2,26 €) :")
    expect(school.locator("#foot-cooperators")).to_have_text("175")
    school.get_by_role("button", name="+ Ajouter une ligne").click()
    expect(school.locator("#classes-1-name")).to_be_focused()  # the new row, where the teacher goes on
    assert school.evaluate("window.samePage === true"), "the page was reloaded"
    school.keyboard.type("CP")
    school.locator("#classes-1-teacher_count").fill("0")
    school.locator("#classes-1-student_count").fill("20")
    expect(total).to_contain_text("489,45 €")
    school.locator("#goods_value").fill("3 000,00")
    expect(total).to_contain_text("496,33 €")  # (3000 − 2000) × 0,00688 = 6,88
    expect_amounts(school, quoted(stack, token, "0380014D00", [("10", "165"), ("0", "20")], True, "3 000,00"))
    expect(school.locator("#ligne-goods")).to_contain_text("(valeur déclarée : 3 000,00 €)")
    school.locator("#classes-1-student_count").fill("2O")  # unreadable: counts for nothing, named beside it
    expect(total).to_contain_text("446,13 €")  # 175 coopérateurs: 439,25 + 6,88
    expect_amounts(school, quoted(stack, token, "0380014D00", [("10", "165"), ("0", "2O")], True, "3 000,00"))
    expect(school.locator("#foot-label")).to_have_text("Total saisi (un nombre est à corriger) :")
    school.locator("#classes-1-student_count").fill("20")
    expect(total).to_contain_text("496,33 €")
    checked(school, "live amounts")
    shot(school, "33-ecole-montant-en-direct")
    school.get_by_role("button", name="Valider et calculer", exact=True).click()
    expect(school.locator(".notice-success")).to_contain_text("Montant calculé : 496,33 €")  # the server agrees
    expect(school.locator("#classes-1-name")).to_have_value("CP")


def test_live_amounts_on_every_pricing_case_of_the_domain(stack, new_page):
    """Each pricing case of the domain's tests typed in the form, priced by a department of
    its own with that case's rates: the live lines are the service's figures to the cent,
    and the very lines the page shows once the table is saved."""
    admin = stack.login(*STAFF)
    base = {key: value for key, value in stack.call("get", f"/api/adhesion/rates/{YEAR}", admin).json().items()
            if key not in ("department", "year")}
    assert stack.call("post", "/api/adhesion/departments", admin, json={
        "number": "73", "name": "OCCE de la Savoie", "insurer": "MAE – MAIF", "contract": "0730042"}).status_code == 201
    assert stack.call("post", "/api/adhesion/staff", admin, json={
        "login": "savoie", "password": "savoie-secret", "department": "73", "email": "savoie@occe.fr"}).status_code == 201
    savoie = stack.login("savoie", "savoie-secret")
    number, password = "0730001A00", "tarifs-secret"
    assert stack.call("put", f"/api/adhesion/rates/{YEAR}", savoie, json=base).status_code == 200
    assert stack.call("post", "/api/adhesion/cooperatives", savoie, json={
        "number": number, "name": "École des Tarifs", "town": "CHAMBÉRY", "email": "ce.0730001a@ac-grenoble.fr",
        "password": password}).status_code == 201
    token = stack.login(number, password)
    school = new_page()
    sign_in(school, number, password)
    expect(school).to_have_url(re.compile(r"/accueil$"))
    for name, (overrides, rows, insurance, goods, instruments, expected) in PRICING_CASES.items():
        assert stack.call("put", f"/api/adhesion/rates/{YEAR}", savoie, json={**base, **overrides}).status_code == 200
        assert stack.call("put", f"/api/adhesion/adhesions/{number}/{YEAR}", token, json={  # a blank table
            "classes": [], "insurance": False}).status_code == 200
        school.goto(f"/adhesion/{YEAR}")
        for index, (teachers, pupils) in enumerate(rows):
            if index >= school.locator(".class-row").count():
                school.get_by_role("button", name="+ Ajouter une ligne").click()
            school.locator(f"#classes-{index}-name").fill(f"Classe {index + 1}")
            school.locator(f"#classes-{index}-teacher_count").fill(str(teachers))
            school.locator(f"#classes-{index}-student_count").fill(str(pupils))
        school.locator("#insurance-oui" if insurance else "#insurance-non").check()
        school.locator("#goods_value").fill(goods.replace(".", ","))
        school.locator("#instruments_value").fill(instruments.replace(".", ","))
        french = dict(zip(AMOUNT_KEYS, (format_eur(Decimal(amount)) for amount in expected)))
        expect_amounts(school, french)  # nothing clicked
        assert quoted(stack, token, number, rows, insurance, goods, instruments) == french, name
        expect(school.locator("#foot-cooperators")).to_have_text(str(sum(t + s for t, s in rows)))
        live = school.locator("table.amounts tr").all_inner_texts()
        school.get_by_role("button", name="Valider et calculer", exact=True).click()
        expect(school.locator(".notice-success")).to_contain_text(f"Montant calculé : {french['total']}")
        assert school.locator("table.amounts tr").all_inner_texts() == live, name
    checked(school, "the amounts of the last pricing case, saved")


def test_what_comes_next_payment_engagement_and_late(stack, new_page, tmp_path):
    number, password = "0380015E00", "ensuite-secret"
    create_cooperative_by_api(stack, number, password, name="École des Érables", town="VOIRON")
    token = stack.login(number, password)
    last_year = {**GUIDE, "payment": {"transfer": True, "cheque": False, "other": False}}
    assert stack.call("put", f"/api/adhesion/adhesions/{number}/2024-2025", token, json=last_year).status_code == 200
    school = new_page()
    sign_in(school, number, password)
    school.goto(f"/adhesion/{YEAR}")
    expect(school.locator("#insurance-oui")).to_be_checked()  # last year's answer
    school.locator("#classes-0-teacher_count").fill("10")
    school.locator("#classes-0-student_count").fill("165")
    school.locator("#pay_transfer-oui").check()
    school.locator("#pay_cheque-oui").check()
    school.get_by_role("button", name="Mettre à jour les informations").click()
    steps = school.locator("#et-maintenant")
    expect(steps).to_contain_text("Et maintenant ?")
    expect(steps).to_contain_text("Montant à régler : 439,25 €")
    expect(steps).to_contain_text("Paiement pas encore reçu.")
    expect(steps).to_contain_text("IBAN : " + DEPARTMENT["iban"])
    expect(steps).to_contain_text("BIC : " + DEPARTMENT["bic"])
    expect(steps).to_contain_text("À l'ordre de " + DEPARTMENT["payee"])
    expect(steps).to_contain_text(DEPARTMENT["address"])
    expect(steps).to_contain_text("Engagement du mandataire pas encore reçu")
    expect(school.locator("#etat-retard")).to_contain_text("Adhésion envoyée en retard")  # after 30 September
    # the payment service learns the dues from adhesion.submitted, a moment after the page
    dues = wait_for(lambda: (lambda r: r.ok and r.json())(stack.call("get", f"/api/payment/dues/{number}/{YEAR}",
                                                                      token)), what="the dues")
    reference = dues.get("reference_display") or dues.get("reference")
    assert reference, "the payment reference (issue 8)"
    reload_until(school, lambda: steps.locator(".payment-reference").count() == 1, "the payment reference")
    expect(steps).to_contain_text(f"Référence à indiquer sur votre virement : {reference}")
    footer = school.locator("#contact")
    for part in ("OCCE de l'Isère", DEPARTMENT["address"], DEPARTMENT["phone"], DEPARTMENT["email"]):
        expect(footer).to_contain_text(part)
    checked(school, "« Et maintenant ? », nothing received")
    shot(school, "34-ecole-et-maintenant", docs=True)

    with school.expect_download() as download_info:
        school.get_by_role("link", name="Engagement du mandataire (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"engagement-mandataire-{number}-{YEAR}.pdf"
    reader = PdfReader(io.BytesIO(download.path().read_bytes()))
    assert len(reader.pages) == 1
    text = " ".join(reader.pages[0].extract_text().split())
    for part in ("Engagement du mandataire", "Coopérative Scolaire École des Érables", number, "2025 - 2026",
                 "439,25 €", "Signature du mandataire", DEPARTMENT["address"]):
        assert part in text, part

    # staff receive part of the payment, then the signed engagement
    staff = stack.login(*STAFF)
    assert stack.call("post", "/api/payment/payments", staff, json={
        "cooperative": number, "year": YEAR, "amount": "200.00", "method": "cheque", "reference": "77",
        "received_on": "2025-10-14"}).status_code == 201
    school.goto("/accueil")
    reload_until(school, lambda: school.locator("#etat-paiement.state-partial").count() == 1, "the partial payment")
    expect(school.locator("#etat-paiement")).to_contain_text("Paiement partiel reçu : 200,00 € sur 439,25 €")
    expect(school.locator("#etat-paiement")).to_contain_text("Il reste 239,25 € à régler.")
    checked(school, "a partial payment on the home page")
    shot(school, "35-ecole-paiement-partiel", docs=True)
    assert stack.call("patch", f"/api/adhesion/adhesions/{number}/{YEAR}/checklist", staff,
                      json={"engagement_signed": True}).status_code == 200
    assert stack.call("post", "/api/payment/payments", staff, json={
        "cooperative": number, "year": YEAR, "amount": "239.25", "method": "transfer", "reference": "",
        "received_on": "2025-10-20"}).status_code == 201
    school.goto(f"/adhesion/{YEAR}")
    reload_until(school, lambda: school.locator("#etat-paiement.state-paid").count() == 1, "the whole payment")
    expect(school.locator("#etat-paiement")).to_contain_text("Paiement reçu (439,25 €).")
    expect(school.locator("#etat-engagement")).to_contain_text("Engagement du mandataire reçu.")
    expect(school.locator("#engagement-pdf")).to_have_count(0)
    checked(school, "everything received")

    # validated: the certificate covers from the payment's receipt; the verify page shows code and number
    wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{number}/{YEAR}", staff).json()["checklist"][
        "payment_received"], what="payment.received")
    assert stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/validate", staff, json={}).status_code == 200
    school.goto("/accueil")
    reload_until(school, lambda: school.locator(".document-link").count() == 2, "the documents")
    with school.expect_download() as download_info:
        school.get_by_role("link", name="Certificat d'assurance").click()
    download = download_info.value
    certificate = " ".join(PdfReader(download.path()).pages[0].extract_text().split())
    assert "du 20 octobre 2025 au 31 août 2026" in certificate
    assert DEPARTMENT["address"] in certificate
    code = re.search(r"\d{2}/\d{4} A", certificate).group(0)
    document_number = re.search(r"CERT-\d{4}-38-\d{6}", certificate).group(0)
    verify_url = re.search(r"(https?://\S+/verify/\S+)", certificate).group(1)
    page = new_page(PHONE)
    page.goto(verify_url)
    landmark = page.get_by_role("main")
    expect(landmark).to_contain_text("Document valide")
    expect(landmark).to_contain_text(code)
    expect(landmark).to_contain_text(document_number)
    checked(page, "the verify page")
    shot(page, "36-verification-375px")

    # the confirmation: the school and the year in its subject, the download's names, Reply-To the association
    mails = wait_for(lambda: confirmation(stack, number), timeout=60, what="the confirmation email")
    assert number in mails["Subject"] and YEAR in mails["Subject"] and "École des Érables" in mails["Subject"]
    assert [part.get_filename() for part in mails.iter_attachments()] == [
        f"attestation-adhésion-{number}-{YEAR}.pdf", download.suggested_filename]
    assert mails["Reply-To"] == DEPARTMENT["email"]
    body = mails.get_body(("plain",)).get_content()
    assert DEPARTMENT["address"] in body and DEPARTMENT["phone"] in body


def confirmation(stack, number: str):
    """The validation email of ``number`` in the test's SMTP sink."""
    directory = stack.settings.data_dir.parent / "mailbox"
    for path in sorted(directory.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["X-Retkoop-Kind"] == "validation_confirmation" and number in message["Subject"]:
            return message
    return None


def test_one_acknowledgement_per_submission_of_a_changed_adhesion(stack, new_page):
    number, password = "0380016F00", "accuse-secret"
    school = school_on_form(stack, new_page, number, password)
    school.locator("#classes-0-name").fill("CE2")
    school.locator("#classes-0-teacher_count").fill("1")
    school.locator("#classes-0-student_count").fill("20")
    school.locator("#pay_cheque-oui").check()
    submit = school.get_by_role("button", name="Mettre à jour les informations")
    submit.click()
    expect(school.locator("#et-maintenant")).to_be_visible()
    submit.click()  # the same adhesion again: nothing new to acknowledge
    expect(school.locator("#et-maintenant")).to_be_visible()
    school.locator("#classes-0-student_count").fill("21")
    submit.click()  # changed: a new acknowledgement
    expect(school.locator("#et-maintenant")).to_contain_text("Montant à régler : 49,72 €")  # 22 × 2,26

    def acknowledgements():
        directory = stack.settings.data_dir.parent / "mailbox"
        found = [m for m in (email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
                             for p in sorted(directory.glob("*.eml")))
                 if m["X-Retkoop-Kind"] == "submission_ack" and m["To"] == f"ce.{number.lower()}@ac-grenoble.fr"]
        return found if len(found) >= 2 else None

    wait_for(acknowledgements, timeout=60, what="two acknowledgements")
    quiet(stack)  # a third would be in flight still
    assert len(acknowledgements()) == 2


STAFF_PAGES = ("/page-inconnue", "/personnel/adhesions", "/personnel/cooperatives/nouvelle", "/personnel/emails",
               f"/personnel/tarifs/{YEAR}", "/personnel/adhesions/0380017G00/" + YEAR)


def test_every_page_fits_a_phone_and_passes_axe(stack, new_page):
    login = new_page(PHONE)
    login.goto("/connexion")
    checked(login, "the login page")
    number, password = "0380017G00", "partout-secret"
    create_cooperative_by_api(stack, number, password, name="École Élémentaire des Très Longs Noms de Lieux",
                              town="SAINT-MARTIN-D'HÈRES")
    token = stack.login(number, password)
    path = f"/api/adhesion/adhesions/{number}/{YEAR}"
    assert stack.call("put", path, token, json=GUIDE).status_code == 200
    assert stack.call("post", f"{path}/submit", token).status_code == 200
    school = new_page(PHONE)
    sign_in(school, number, password)
    for address in ("/accueil", f"/adhesion/{YEAR}"):
        school.goto(address)
        checked(school, address)
    shot(school, "37-ecole-adhesion-375px")
    staff = new_page(PHONE)
    sign_in(staff, *STAFF)
    for address in STAFF_PAGES:
        staff.goto(address)
        checked(staff, address)
    shot(staff, "38-personnel-adhesion-375px", docs=True)
    following = schoolyear.following(YEAR)  # SCHOOL_YEAR: the seed sets the guide's two years, up to YEAR
    staff.goto(f"/personnel/tarifs/{following}")
    expect(staff.get_by_role("status")).to_contain_text("sont proposés")
    expect(staff.get_by_label("Ouverture du renouvellement")).to_have_value(re.compile(rf"^{schoolyear.years(following)[0]}-"))
    checked(staff, "a new year's rates, carried over")
