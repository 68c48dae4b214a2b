"""Issue 9 in a real browser (Debian's Chromium through Playwright) against the whole
system as processes: a validated adhesion → the guide's green frame with the empty-book
warning → the adhesion written in one click (D01) → the « Cahier de comptes » shows it,
balances with the opening balance, an entry added by hand, the CSV export; staff read it
only. Every page is checked with axe-core and at 375 px."""
import csv
import io
import re

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    PHONE,
    STAFF,
    YEAR,
    browser,
    create_cooperative_by_api,
    new_page,
    no_horizontal_scroll,
    reload_until,
    shot,
    sign_in,
)
from tests.support import GUIDE, wait_for

SYSTEM_ENV = {"SCHOOL_YEAR": YEAR}  # the pages open this school year

NUMBER = "0389999L00"
LABEL = '=HYPERLINK("http://exemple.invalid";"Vente de gâteaux")'  # a formula, in staff's Excel too
PASSWORD = "cahier-secret"
AXE = Axe()


def accessible(page: Page, context: str | None = None) -> None:
    results = AXE.run(page, context=context)
    assert results.violations_count == 0, results.generate_report()


def validated_by_api(stack) -> None:
    """The guide's example submitted, paid by cheque, its engagement ticked and validated."""
    create_cooperative_by_api(stack, NUMBER, PASSWORD, name="École Élémentaire du Cahier", town="VIENNE")
    staff, school = stack.login(*STAFF), stack.login(NUMBER, PASSWORD)
    path = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    assert stack.call("put", path, school, json=GUIDE).status_code == 200
    assert stack.call("post", f"{path}/submit", school).status_code == 200
    wait_for(lambda: stack.call("get", f"/api/payment/dues/{NUMBER}/{YEAR}", school).status_code == 200,
             what="the dues")
    assert stack.call("post", "/api/payment/payments", staff, json={
        "cooperative": NUMBER, "year": YEAR, "amount": "439.25", "method": "cheque", "reference": "1234567",
        "received_on": "2025-09-12"}).status_code == 201
    wait_for(lambda: stack.call("get", path, staff).json()["checklist"]["payment_received"], what="payment.received")
    assert stack.call("patch", f"{path}/checklist", staff, json={"engagement_signed": True}).status_code == 200
    assert stack.call("post", f"{path}/validate", staff, json={}).status_code == 200


def test_green_frame_to_the_book(stack, new_page):
    validated_by_api(stack)
    school = new_page()
    sign_in(school, NUMBER, PASSWORD)
    expect(school).to_have_url(re.compile(r"/accueil$"))

    # -- the adhesion page: the green frame once the ledger proposed the entry ---------------
    school.goto(f"/adhesion/{YEAR}")
    frame = school.locator(".green-frame")
    reload_until(school, lambda: frame.count() == 1, "the green frame")
    expect(frame).to_contain_text("Pour que cette opération (439,25 €) soit écrite maintenant dans le cahier de "
                                  "comptes de l'année, cliquez ici")
    expect(frame).to_contain_text("Prévoyez d'inscrire le numéro de votre chèque, celui de la P.J., etc.")
    expect(frame).to_contain_text(
        "Attention ! Le cahier est actuellement vide : cette écriture sera la première du cahier !")
    accessible(school, ".green-frame")  # the rest of this page belongs to the adhesion's own tests
    shot(school, "20-ecole-cadre-vert")

    # -- one click: the form, pre-filled --------------------------------------------------------
    frame.get_by_role("link", name="cliquez ici").click()
    expect(school).to_have_url(re.compile(rf"/cahier/{YEAR}/adhesion$"))
    expect(school.locator("main")).to_contain_text("439,25 €")
    expect(school.locator("main")).to_contain_text("62810008 Cotisations versées à l'OCCE : 395,50 €")
    expect(school.locator("main")).to_contain_text("61681008 Assurance : 43,75 €")
    expect(school.locator("main")).to_contain_text("cette écriture sera la première du cahier !")
    expect(school.get_by_label("Moyen de paiement")).to_have_value("cheque")
    expect(school.get_by_label("Banque ou caisse")).to_have_value("bank")
    accessible(school)
    school.get_by_label("Date de l'opération").fill("2025-09-12")
    school.get_by_label("Numéro du chèque").fill("1234567")
    school.get_by_label("Numéro de la pièce justificative (P.J.)").fill("PJ 1")
    shot(school, "21-ecole-ecriture-adhesion")
    school.get_by_role("button", name="Écrire dans le cahier de comptes").click()

    # -- the book shows it ------------------------------------------------------------------------
    expect(school).to_have_url(re.compile(rf"/cahier/{YEAR}#ecritures$"))
    expect(school.get_by_role("status").first).to_contain_text(
        "L'adhésion est écrite dans le cahier de comptes : pièce D01.")
    row = school.locator("table.entries tbody tr").first
    expect(row).to_contain_text("D01")
    expect(row).to_contain_text("12/09/2025")
    expect(row).to_contain_text("chèque n° 1234567")
    expect(row).to_contain_text("439,25 €")
    expect(school.locator("#solde-banque")).to_have_text("-439,25 €")

    school.get_by_label("Banque (€)").fill("1 200,00")
    school.get_by_role("button", name="Enregistrer le report à nouveau").click()
    expect(school.locator("#solde-banque")).to_have_text("760,75 €")

    # an entry by hand: allocations that do not add up are refused, nothing written
    school.get_by_label("Date", exact=True).fill("2025-10-03")
    school.get_by_label("Libellé").fill(LABEL)
    school.get_by_label("Dépense ou recette").select_option("income")
    school.get_by_label("Banque ou caisse").select_option("cash")
    school.get_by_label("Moyen de paiement").select_option("cash")
    school.get_by_label("Montant (€)", exact=True).fill("42,30")
    school.get_by_label("Ventilation 1 : compte").select_option("62810008")
    school.get_by_label("Ventilation 1 : montant (€)").fill("40,00")
    school.get_by_role("button", name="Enregistrer l'écriture").click()
    expect(school.locator("#allocations-error")).to_contain_text("La ventilation (40,00 €) doit être égale")
    expect(school.get_by_label("Libellé")).to_have_value(LABEL)
    expect(school.locator("table.entries tbody tr")).to_have_count(1)
    accessible(school)
    school.get_by_label("Ventilation 1 : montant (€)").fill("")  # one account, no amount: it takes it all
    school.get_by_role("button", name="Enregistrer l'écriture").click()
    expect(school.get_by_role("status").first).to_contain_text("L'écriture R01 est enregistrée.")
    expect(school.locator("#solde-caisse")).to_have_text("42,30 €")
    accessible(school)
    shot(school, "22-ecole-cahier-de-comptes")

    # the CSV opens in French Excel
    with school.expect_download() as download_info:
        school.get_by_role("link", name="Télécharger le cahier (CSV pour Excel)").click()
    data = download_info.value.path().read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[2][1] == "D01" and rows[2][6] == "439,25" and rows[3][1] == "R01"
    assert rows[3][2] == "'" + LABEL and rows[3][9] == "42,30"  # a text, not a formula; the amount a number
    assert rows[-1][7] == "760,75"

    # the green frame now says it is written, and the same page fits a phone
    school.goto(f"/adhesion/{YEAR}")
    expect(school.locator(".green-frame")).to_contain_text("est écrite dans le cahier de comptes de l'année (pièce D01)")
    phone = new_page(PHONE)
    phone.context.add_cookies(school.context.cookies())
    phone.goto(f"/cahier/{YEAR}")
    expect(phone.locator("table.entries")).to_be_visible()
    assert no_horizontal_scroll(phone), "the book scrolls sideways on a 375 px screen"
    shot(phone, "23-ecole-cahier-375px")

    # -- staff read it, and only read it ---------------------------------------------------------
    staff = new_page()
    sign_in(staff, *STAFF)
    staff.goto(f"/personnel/adhesions/{NUMBER}/{YEAR}")
    staff.get_by_role("link", name="Cahier de comptes").first.click()
    expect(staff).to_have_url(re.compile(rf"/personnel/cahiers/{NUMBER}/{YEAR}$"))
    expect(staff.locator("main")).to_contain_text("consultation seulement")
    expect(staff.locator("table.entries tbody tr")).to_have_count(2)
    expect(staff.locator("form[method=post]")).to_have_count(1)  # only the header's « Se déconnecter »
    accessible(staff)
    with staff.expect_download() as download_info:
        staff.get_by_role("link", name="Télécharger le cahier (CSV pour Excel)").click()
    rows = list(csv.reader(io.StringIO(download_info.value.path().read_text("utf-8-sig")), delimiter=";"))
    assert rows[3][2] == "'" + LABEL and rows[-1][7] == "760,75"
    shot(staff, "24-personnel-cahier")
    # staff extend the department's chart; the schools can then allocate to it
    staff.get_by_role("link", name="Plan comptable").click()
    expect(staff.get_by_role("row").filter(has_text="62810008")).to_contain_text("Cotisations versées à l'OCCE")
    staff.get_by_label("Numéro du compte (ex. 60680000)").fill("6068 0000")
    staff.get_by_label("Intitulé").fill("Achats de petit matériel")
    staff.get_by_role("button", name="Ajouter le compte").click()
    expect(staff.locator("#code-error")).to_contain_text("7 à 10 chiffres")
    accessible(staff)
    staff.get_by_label("Numéro du compte (ex. 60680000)").fill("60680000")
    staff.get_by_role("button", name="Ajouter le compte").click()
    expect(staff.get_by_role("status").first).to_contain_text("Le compte 60680000 « Achats de petit matériel » est ajouté")
    school.goto(f"/cahier/{YEAR}")
    expect(school.get_by_label("Ventilation 1 : compte").locator("option", has_text="60680000")).to_have_count(1)
    # a school cannot reach the staff's view of a book
    assert school.goto(f"/personnel/cahiers/{NUMBER}/{YEAR}").status == 403
