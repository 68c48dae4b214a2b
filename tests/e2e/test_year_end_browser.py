"""Issue 20 in a real browser against the whole system as processes: the school walks its
« Fin d'exercice » from pointage to submission (the issue's worked example), the
acknowledgement arrives by email, staff follow the « Comptes rendus financiers », mark it
received and export the comptes agrégés. Every page state is checked with axe-core at
1280 and 375 px."""
import csv
import io
import re
from datetime import date
from decimal import Decimal

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
    shot,
    sign_in,
)
from tests.statement_files import Movement, camt053
from tests.support import GUIDE, school_email, wait_for

SYSTEM_ENV = {"SCHOOL_YEAR": YEAR}
NUMBER = "0389920F00"
PASSWORD = "fin-exercice-secret"
AXE = Axe()
PDF = b"%PDF-1.4\n% releve bancaire au 31 aout 2026\n%%EOF\n"


def accessible(page: Page) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, results.generate_report()


def on_both_screens(page: Page, phone: Page) -> None:
    """The state of ``page`` is axe-clean at 1280 px, and at 375 px without sideways scroll."""
    accessible(page)
    phone.goto(page.url)
    assert no_horizontal_scroll(phone), f"{page.url} scrolls sideways on a 375 px screen"
    accessible(phone)


def the_worked_example_by_api(stack) -> None:
    """The guide's adhesion validated and written (D01), then R01, R02 and D02 in the book."""
    create_cooperative_by_api(stack, NUMBER, PASSWORD, name="École de la Fin d'Exercice", town="VIENNE")
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
    book = f"/api/ledger/books/{NUMBER}/{YEAR}"
    wait_for(lambda: stack.call("get", f"{book}/adhesion-entry", school).status_code == 200,
             what="the adhesion entry proposed")
    assert stack.call("put", f"{book}/opening", school, json={"bank": "1200.00", "cash": "50.00"}).status_code == 200
    assert stack.call("post", f"{book}/adhesion-entry", school, json={
        "date": "2025-09-25", "account": "bank", "method": "cheque", "cheque_number": "1234567"}).status_code == 201
    for body in (
        {"date": "2026-03-10", "label": "Vente des photos de classe", "direction": "income", "account": "bank",
         "method": "transfer", "amount": "312.40", "allocations": [{"category": "70710008", "amount": "312.40"}]},
        {"date": "2026-01-15", "label": "Subvention sortie", "direction": "income", "account": "bank",
         "method": "transfer", "amount": "500.00", "payer": "Commune de Vienne",
         "allocations": [{"category": "74400008", "amount": "500.00"}]},
        {"date": "2026-08-28", "label": "Visite du musée", "direction": "expense", "account": "bank",
         "method": "cheque", "cheque_number": "7654321", "amount": "186.00",
         "allocations": [{"category": "62510008", "amount": "186.00"}]},
    ):
        answer = stack.call("post", f"{book}/entries", school, json=body)
        assert answer.status_code == 201, answer.text


def test_fin_d_exercice_from_pointage_to_submission(stack, sink, new_page, tmp_path):
    the_worked_example_by_api(stack)
    school, phone = new_page(), new_page(PHONE)
    sign_in(school, NUMBER, PASSWORD)
    phone.context.add_cookies(school.context.cookies())
    school.get_by_role("link", name="Fin d'exercice").click()
    school.goto(f"/fin-exercice/{YEAR}")
    steps = school.locator(".steps li")
    expect(steps).to_have_count(6)
    expect(steps.nth(0)).to_contain_text("4 opération(s) en banque non pointée(s)")
    expect(steps.nth(1)).to_contain_text("Faites l'arrêté de caisse au 31 août")
    expect(steps.nth(5)).to_contain_text("À envoyer au plus tard le 30/09/2026")
    on_both_screens(school, phone)
    shot(school, "40-ecole-fin-exercice")

    # 1. pointage: D01 by hand, R01 and R02 from the cooperative's CAMT.053
    school.get_by_role("button", name="Pointer D01").click()
    expect(school.locator("#pointage tbody tr").first).to_contain_text("le ")
    statement = tmp_path / "releve-camt053.xml"
    statement.write_bytes(camt053([Movement(date(2026, 3, 12), Decimal("312.40"), "VIR PHOTOS"),
                                   Movement(date(2026, 1, 20), Decimal("500.00"), "VIR MAIRIE DE VIENNE")]))
    school.get_by_label("Relevé de la banque (fichier)").set_input_files(str(statement))
    school.get_by_role("button", name="Importer le relevé").click()
    expect(school.locator("#propositions input[type=checkbox]")).to_have_count(2)
    accessible(school)
    school.get_by_role("button", name="Pointer les opérations cochées").click()
    expect(school.get_by_role("status").first).to_contain_text("2 opération(s) pointée(s).")
    expect(steps.nth(0)).to_contain_text("1 opération(s) en banque non pointée(s)")

    # 2. the cash count: 2 × 20 €, 1 × 5 €, 10 × 50 centimes
    school.get_by_label("20 €", exact=True).fill("2")
    school.get_by_label("5 €", exact=True).fill("1")
    school.get_by_label("50 centimes", exact=True).fill("10")
    school.get_by_role("button", name="Enregistrer l'arrêté de caisse").click()
    expect(school.get_by_role("status").first).to_contain_text("il correspond au solde de la caisse")
    expect(school.locator("#caisse-resultat")).to_contain_text("50,00 €")

    # 3. closing: refused without the statement's balance, in plain words, then accepted
    school.get_by_role("button", name="Clôturer l'exercice").click()
    expect(school.locator("#probleme")).to_contain_text("le solde du relevé bancaire au 31 août n'est pas indiqué")
    on_both_screens(school, phone)
    school.get_by_label("Solde du relevé bancaire au 31 août (€)").fill("1 573,15")
    school.get_by_role("button", name="Clôturer l'exercice").click()
    expect(school.locator("#cloture-resultat")).to_contain_text(
        "banque 1 387,15 €, caisse 50,00 €, résultat 187,15 €")
    expect(school.locator("#resultat")).to_have_text("187,15 €")

    # 4. the quitus: the mandataire cannot be a verifier
    school.locator("#mandataire-name").fill("Claire Martin")
    school.locator("#mandataire-date").fill("2026-09-10")
    for i, name in enumerate(("Paul Durand", "Claire Martin")):
        school.locator(f"#verifier-{i}-name").fill(name)
        school.locator(f"#verifier-{i}-date").fill("2026-09-10")
    school.get_by_role("button", name="Enregistrer le quitus").click()
    expect(school.locator("#verifier-1-name-error")).to_contain_text("Le mandataire ne peut pas être vérificateur")
    on_both_screens(school, phone)
    school.locator("#verifier-1-name").fill("Inès Roux")
    school.locator("#verifier-1-quality").select_option("enseignant")
    school.get_by_role("button", name="Enregistrer le quitus").click()
    expect(school.get_by_role("status").first).to_contain_text("Le quitus est enregistré.")

    # 5. the statement at 31/08, 6. sending
    school.get_by_role("button", name="Envoyer le compte rendu financier").click()
    expect(school.locator("#probleme")).to_contain_text("le relevé bancaire au 31 août n'est pas joint")
    school.get_by_label("Relevé au 31 août (PDF, JPEG ou PNG, 5 Mo au plus)").set_input_files(
        {"name": "releve.pdf", "mimeType": "application/pdf", "buffer": PDF})
    school.get_by_role("button", name="Joindre le relevé").click()
    expect(school.get_by_role("status").first).to_contain_text("Le relevé bancaire est joint")
    school.get_by_role("button", name="Envoyer le compte rendu financier").click()
    expect(school.locator("#etat-crf")).to_have_text("Envoyé")
    expect(school.locator(".steps .step-todo")).to_have_count(0)
    on_both_screens(school, phone)
    shot(school, "41-ecole-fin-exercice-envoye")
    pdf = school.request.get(f"/fin-exercice/{YEAR}/compte-rendu-financier.pdf")
    assert pdf.status == 200 and pdf.body().startswith(b"%PDF")

    wait_for(lambda: [m for m in sink.messages() if m["X-Retkoop-Kind"] == "crf_ack"
                      and m["To"] == school_email(NUMBER)], timeout=90, what="the CRF's acknowledgement")

    # -- staff: the list, the CRF, received, the comptes agrégés ---------------------------------
    staff, staff_phone = new_page(), new_page(PHONE)
    sign_in(staff, *STAFF)
    staff_phone.context.add_cookies(staff.context.cookies())
    staff.goto(f"/personnel/comptes-rendus/{YEAR}")
    expect(staff.locator("#compteurs")).to_contain_text("Envoyé : 1")
    on_both_screens(staff, staff_phone)
    shot(staff, "42-personnel-comptes-rendus")
    staff.get_by_label("Dates des relances (JJ/MM, séparées par des virgules)").fill("15/09, 31/02")
    staff.get_by_role("button", name="Enregistrer les dates").click()
    expect(staff.locator("#reminders-error")).to_contain_text("JJ/MM")
    on_both_screens(staff, staff_phone)
    staff.get_by_label("Dates des relances (JJ/MM, séparées par des virgules)").fill("15/09, 25/09")
    staff.get_by_role("button", name="Enregistrer les dates").click()
    expect(staff.get_by_label("Dates des relances (JJ/MM, séparées par des virgules)")).to_have_value("15/09, 25/09")
    staff.get_by_role("button", name="Relancer maintenant les coopératives qui n'ont pas envoyé").click()
    expect(staff.get_by_role("status").first).to_contain_text("Relance n° 1 :")
    staff.get_by_label("État").select_option("submitted")
    staff.get_by_role("button", name="Filtrer").click()
    expect(staff.locator("#crf-liste tbody tr")).to_have_count(1)
    staff.get_by_role("link", name=NUMBER).click()
    expect(staff.locator("#etat-crf")).to_have_text("Envoyé")
    expect(staff.locator("main")).to_contain_text("Commune de Vienne")
    on_both_screens(staff, staff_phone)
    statement_link = staff.get_by_role("link", name="Relevé bancaire au 31 août")
    assert staff.request.get(statement_link.get_attribute("href")).body() == PDF
    staff.get_by_role("button", name="Marquer reçu").click()
    expect(staff.locator("#etat-crf")).to_have_text("Reçu")
    accessible(staff)
    staff.goto(f"/personnel/comptes-rendus/{YEAR}")
    with staff.expect_download() as download_info:
        staff.get_by_role("link", name="Comptes agrégés (CSV pour Excel)").click()
    data = download_info.value.path().read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = {row[1]: row[3] for row in csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";")}
    assert rows["Résultat (produits − charges)"] == "187,15"
    assert rows["Nombre de comptes rendus additionnés"] == "1"
    assert school.goto(f"/personnel/comptes-rendus/{YEAR}").status == 403
    assert re.search(r"/fin-exercice/", school.url) is None
