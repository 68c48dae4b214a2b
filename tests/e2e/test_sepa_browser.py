"""Issue 21 in a real browser (Chromium through Playwright) against the whole system:
staff set the creditor and the dates on « Prélèvements », the school chooses
« prélèvement », fills its mandate from « Et maintenant ? » and downloads the PDF; staff
record the signature, build the batch and download its file. Every page state is checked
with axe-core at 1280 and 375 px."""
import io
from datetime import date, timedelta

from playwright.sync_api import Page, expect
from pypdf import PdfReader

from banking import pain008
from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    STAFF,
    YEAR,
    browser,
    create_cooperative_by_api,
    new_page,
    shot,
    sign_in,
)
from tests.e2e.test_reconcile_browser import accessible, fits_a_phone
from tests.support import GUIDE, wait_for

SYSTEM_ENV = {"SCHOOL_YEAR": YEAR}
NUMBER, PASSWORD = "0387101D00", "prelevement-1"


def checked(page: Page) -> None:
    accessible(page)
    fits_a_phone(page)
    page.set_viewport_size({"width": 375, "height": 740})
    accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_staff_and_school_direct_debit_pages(stack, new_page, tmp_path):
    staff_page = new_page()
    sign_in(staff_page, *STAFF)
    staff_page.goto("/personnel/prelevements")
    expect(staff_page.get_by_role("heading", name="Prélèvements SEPA", level=1)).to_be_visible()
    checked(staff_page)

    # a bad ICS is refused beside its field
    staff_page.get_by_label("Nom du créancier").fill("OCCE de l'Isère")
    staff_page.get_by_label("Identifiant créancier SEPA (ICS)").fill("FR73ZZZ123456")
    staff_page.get_by_label("IBAN du compte crédité").fill("FR76 3000 6000 0112 3456 7890 189")
    staff_page.get_by_label("Numéro et rue").fill("12 rue de l'École")
    staff_page.get_by_label("Code postal").fill("38000")
    staff_page.get_by_label("Commune").fill("Grenoble")
    staff_page.get_by_role("button", name="Enregistrer le créancier").click()
    expect(staff_page.locator("#ics-error")).to_contain_text("ICS")
    checked(staff_page)
    staff_page.get_by_label("Identifiant créancier SEPA (ICS)").fill("FR72ZZZ123456")
    staff_page.get_by_role("button", name="Enregistrer le créancier").click()
    expect(staff_page.get_by_text("Paramètres de créancier enregistrés")).to_be_visible()
    day = date.today() + timedelta(days=21)
    staff_page.get_by_label("Dates (JJ/MM/AAAA, séparées par des espaces)").fill(day.strftime("%d/%m/%Y"))
    staff_page.get_by_role("button", name="Enregistrer les dates").click()
    expect(staff_page.get_by_text("Dates de prélèvement enregistrées.")).to_be_visible()
    checked(staff_page)

    # the school: « prélèvement » once the department offers it, then its mandate
    create_cooperative_by_api(stack, NUMBER, PASSWORD, name="Coopérative de l'école des Prés", town="VIENNE")
    school_api = stack.login(NUMBER, PASSWORD)
    wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", school_api).json()[
        "department"]["direct_debit"], what="the offer at the adhesion service")
    path = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    assert stack.call("put", path, school_api, json={**GUIDE, "payment": {
        "transfer": False, "cheque": False, "other": False, "direct_debit": True}}).status_code == 200
    school = new_page()
    sign_in(school, NUMBER, PASSWORD)
    school.goto(f"/adhesion/{YEAR}")
    expect(school.locator("#pay_direct_debit-oui")).to_be_checked()
    assert stack.call("post", f"{path}/submit", school_api).status_code == 200
    school.goto("/accueil")
    expect(school.locator("#mandat-remplir")).to_be_visible()
    checked(school)
    school.locator("#mandat-remplir").click()
    expect(school.get_by_role("heading", name="Mandat de prélèvement SEPA", level=1)).to_be_visible()
    school.get_by_label("IBAN").fill("FR76 3000 1007 9412 3456 7890 186")
    school.get_by_label("Adresse du titulaire (numéro et rue)").fill("1 place de la Mairie")
    school.get_by_label("Code postal").fill("38200")
    school.get_by_role("button", name="Préparer le mandat").click()
    expect(school.locator("#iban-error")).to_contain_text("IBAN invalide")
    checked(school)
    school.get_by_label("IBAN").fill("FR76 3000 1007 9412 3456 7890 185")
    school.get_by_role("button", name="Préparer le mandat").click()
    expect(school.locator("#mandat-pdf")).to_be_visible()
    rum = school.locator(".rum").first.inner_text()
    checked(school)
    with school.expect_download() as download:
        school.locator("#mandat-pdf").click()
    pdf = download.value.path().read_bytes()
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert rum in text and "FR72ZZZ123456" in text
    shot(school, "sepa-school-mandate")

    # staff record the signature; the collection is planned; the batch is built and downloaded
    staff_page.goto("/personnel/prelevements#mandats")
    staff_page.get_by_label("Date de signature").fill((date.today() - timedelta(days=1)).isoformat())
    staff_page.get_by_role("button", name="Enregistrer la signature").click()
    expect(staff_page.get_by_text(f"Mandat {rum} actif")).to_be_visible()
    wait_for(lambda: stack.call("get", f"/api/payment/dues/{NUMBER}/{YEAR}", school_api).status_code == 200,
             what="the dues")
    staff_page.goto("/personnel/prelevements")
    expect(staff_page.locator("#prelevements")).to_contain_text(NUMBER)
    checked(staff_page)
    shot(staff_page, "sepa-staff")
    staff_page.get_by_role("button", name="Préparer le lot").click()
    expect(staff_page.get_by_role("heading", level=1)).to_contain_text("Lot RKP-38-")
    checked(staff_page)
    with staff_page.expect_download() as download:
        staff_page.locator("#fichier-08").click()
    pain008.check(download.value.path().read_bytes(), "08")
    staff_page.reload()
    expect(staff_page.locator("main")).to_contain_text("transmis à la banque")
    checked(staff_page)
