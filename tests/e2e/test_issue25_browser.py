"""Issue 25 in a real browser (Chromium, Playwright) against the whole system as processes:
a town hall's credit whose split is the one-click proposal; a payment reversed after the
validation, seen by staff and by the school; a number of another department refused, then
confirmed, moved and worked on by the national administrator. Every page these journeys
show is checked with axe-core at 1280 and 375 px, staff pages included."""
import re
from datetime import date
from decimal import Decimal

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    DESKTOP,
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

SYSTEM_ENV = {"SCHOOL_YEAR": YEAR}
AXE = Axe()


def checked(page: Page, what: str) -> None:
    """axe-core finds nothing at 1280 px, nor at 375 px where nothing scrolls sideways."""
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        results = AXE.run(page)
        assert results.violations_count == 0, f"{what} at {viewport['width']} px:\n{results.generate_report()}"
    assert no_horizontal_scroll(page), f"{what} scrolls sideways at 375 px"
    page.set_viewport_size(DESKTOP)


def submitted(stack, number: str, name: str, town: str, teachers: int, students: int) -> dict:
    create_cooperative_by_api(stack, number, f"{number}-mdp", name=name, town=town)
    school = stack.login(number, f"{number}-mdp")
    body = {**GUIDE, "classes": [{"name": "ECOLE ENTIERE", "teachers": "", "teacher_count": teachers,
                                  "student_count": students}],
            "payment": {"transfer": True, "cheque": True, "other": False}}
    path = f"/api/adhesion/adhesions/{number}/{YEAR}"
    assert stack.call("put", path, school, json=body).status_code == 200
    assert stack.call("post", f"{path}/submit", school).status_code == 200
    return wait_for(lambda: (r := stack.call("get", f"/api/payment/dues/{number}/{YEAR}", school)).status_code == 200
                    and r.json(), what="the dues")


def test_a_town_hall_split_is_the_one_click_proposal(stack, new_page, tmp_path):
    balzac = submitted(stack, "0389101M00", "Coopérative Scolaire de l'École Élémentaire Balzac", "MIONS", 1, 24)
    ferry = submitted(stack, "0389102M00", "Coopérative Scolaire de l'École Jules Ferry", "MIONS", 2, 40)
    submitted(stack, "0389103B00", "Coopérative Scolaire Jules Ferry", "BRON", 1, 10)  # the same name elsewhere
    total = Decimal(balzac["amount_due"]) + Decimal(ferry["amount_due"])
    path = tmp_path / "releve-mions.xml"
    path.write_bytes(camt053([Movement(date(2025, 9, 18), total, "MANDAT 2025-118 ECOLES BALZAC ET JULES FERRY",
                                       "COMMUNE DE MIONS")], version="08"))

    staff = new_page()
    sign_in(staff, *STAFF)
    staff.get_by_role("navigation").get_by_role("link", name="Relevés bancaires").click()
    staff.get_by_label("Fichier du relevé").set_input_files(str(path))
    staff.get_by_role("button", name="Importer le relevé").click()
    line = staff.locator("li.statement-line", has_text="BALZAC ET JULES FERRY")
    expect(line).to_contain_text("Paiement groupé proposé")
    # the first button of the line is the split, never « everything to Jules Ferry »
    expect(line.get_by_role("button").first).to_have_text("Confirmer la répartition")
    expect(line.get_by_role("button", name=re.compile("Tout attribuer à")).first).to_be_visible()
    shot(staff, "40-personnel-releve-mairie")
    checked(staff, "the statement's lines")
    line.get_by_role("button", name="Confirmer la répartition").first.click()
    expect(staff.get_by_role("status").first).to_contain_text("Ligne confirmée")
    token = stack.login(*STAFF)
    for number, dues in (("0389101M00", balzac), ("0389102M00", ferry)):
        paid = wait_for(lambda: (d := stack.call("get", f"/api/payment/dues/{number}/{YEAR}", token).json())[
            "status"] == "paid" and d, what=f"{number} paid")
        assert paid["amount_paid"] == dues["amount_due"]
    assert stack.call("get", f"/api/payment/dues/0389103B00/{YEAR}", token).json()["status"] == "unpaid"


def test_a_payment_reversed_after_validation_is_seen_by_staff_and_school(stack, new_page):
    number = "0389201R00"
    dues = submitted(stack, number, "Coopérative Scolaire de l'École du Revers", "VIENNE", 1, 20)
    token = stack.login(*STAFF)
    assert stack.call("post", "/api/payment/payments", token, json={
        "cooperative": number, "year": YEAR, "amount": dues["amount_due"], "method": "cheque", "reference": "8812",
        "received_on": "2025-09-15"}).status_code == 201
    path = f"/api/adhesion/adhesions/{number}/{YEAR}"
    wait_for(lambda: stack.call("get", path, token).json()["checklist"]["payment_received"], what="payment.received")
    assert stack.call("patch", f"{path}/checklist", token, json={"engagement_signed": True}).status_code == 200
    assert stack.call("post", f"{path}/validate", token, json={}).status_code == 200

    school = new_page()
    sign_in(school, number, f"{number}-mdp")
    expect(school.locator("#etat")).to_contain_text("Bravo !")

    staff = new_page()
    sign_in(staff, *STAFF)
    staff.goto(f"/personnel/adhesions/{number}/{YEAR}")
    expect(staff.locator("#etat")).to_contain_text("a bien reçu le paiement")
    staff.get_by_text("Annuler un paiement ou rembourser un trop-perçu").click()
    staff.get_by_label("Motif (chèque impayé, erreur de saisie, remboursement…)").fill("Chèque impayé")
    staff.get_by_role("button", name="Enregistrer l'annulation").click()
    expect(staff.get_by_role("status").first).to_contain_text("Annulation enregistrée")
    state = staff.locator("#etat")
    expect(state).not_to_contain_text("a bien reçu le paiement")
    expect(state).to_contain_text("Le paiement n'est plus complet depuis la validation")
    shot(staff, "41-personnel-paiement-annule")
    checked(staff, "the staff's adhesion page after a reversal")

    reload_until(school, lambda: "Bravo" not in school.locator("#etat").inner_text(), "the school told")
    expect(school.locator("#etat")).to_contain_text("Un paiement a été annulé")
    expect(school.locator("#et-maintenant")).to_contain_text(dues["reference_display"])
    shot(school, "42-ecole-paiement-annule")
    checked(school, "the school's home after a reversal")


def test_a_number_of_another_department_refused_confirmed_and_moved(stack, new_page):
    token = stack.login(*STAFF)
    assert stack.call("post", "/api/adhesion/departments", token, json={
        "number": "69", "name": "OCCE du Rhône", "insurer": "MAE – MAIF", "contract": ""}).status_code == 201
    assert stack.call("post", "/api/adhesion/staff", token, json={
        "login": "rhone", "password": "rhone-secret", "department": "69", "email": "staff@occe69.fr"}).status_code == 201
    isere_number = "0389301P00"

    rhone = new_page()
    sign_in(rhone, "rhone", "rhone-secret")
    rhone.get_by_role("navigation").get_by_role("link", name="Coopératives").click()
    rhone.get_by_role("link", name="Nouvelle coopérative").click()

    def fill(page: Page) -> None:
        page.get_by_label("Numéro de la coopérative (identifiant)").fill(isere_number)
        page.get_by_label("Nom", exact=True).fill("Coopérative Scolaire de l'École de Mions")
        page.get_by_label("Commune").fill("MIONS")
        page.get_by_label("Adresse e-mail de l'école").fill("ecole.mions@example.org")
        page.get_by_label("Mot de passe").fill("ecole-mions-1")

    fill(rhone)
    rhone.get_by_role("button", name="Créer la coopérative").click()
    expect(rhone.locator("#number-error")).to_contain_text("département 38")
    expect(rhone.get_by_label("Je confirme", exact=False)).to_have_count(0)
    checked(rhone, "the refused number")
    # a phone shows the staff pages three to a row (a row: a label on two lines at most)
    rhone.set_viewport_size(PHONE)
    links = rhone.locator("nav.tabs a").count()
    assert rhone.locator("nav.tabs").bounding_box()["height"] < -(-links // 3) * 50, links
    rhone.set_viewport_size(DESKTOP)

    national = new_page()
    sign_in(national, *STAFF)
    national.get_by_role("navigation").get_by_role("link", name="Département").click()
    national.get_by_label("Travailler dans le département").select_option("69")
    national.get_by_role("button", name="Changer de département").click()
    expect(national.get_by_role("status").first).to_contain_text("département 69")
    checked(national, "the departments page")
    national.goto("/personnel/cooperatives/nouvelle")
    fill(national)
    national.get_by_role("button", name="Créer la coopérative").click()
    expect(national.locator("#number-error")).to_contain_text("Confirmez")
    checked(national, "the national administrator's warning")
    national.get_by_label("Mot de passe").fill("ecole-mions-1")
    national.get_by_label(re.compile("Je confirme")).check()
    national.get_by_role("button", name="Créer la coopérative").click()
    expect(national.get_by_role("status").first).to_contain_text(f"La coopérative {isere_number}")

    # it was an Isère school after all: moved, with its login
    national.goto(f"/personnel/cooperatives/{isere_number}/fiche")
    national.get_by_label("La déplacer vers le département").select_option("38")
    checked(national, "the cooperative's page")
    national.get_by_role("button", name="Déplacer la coopérative").click()
    expect(national.get_by_role("status").first).to_contain_text("déplacée vers le département 38")
    assert stack.call("get", f"/api/adhesion/cooperatives/{isere_number}", token).json()["department"] == "38"
    assert stack.call("post", "/api/auth/login", json={"login": isere_number, "password": "ecole-mions-1"}).json()[
        "department"] == "38"

    # deactivating asks first
    national.goto("/personnel/departement")
    national.get_by_label("Travailler dans le département").select_option("38")
    national.get_by_role("button", name="Changer de département").click()
    national.goto(f"/personnel/cooperatives/{isere_number}/fiche")
    national.get_by_role("button", name="Désactiver la coopérative…").click()
    expect(national.get_by_role("alert")).to_contain_text("Désactiver")
    checked(national, "the deactivation's confirmation")
    national.get_by_role("button", name="Oui, désactiver la coopérative").click()
    expect(national.get_by_role("status").first).to_contain_text("Coopérative désactivée")

    # the email log, filtered and in pages
    national.get_by_role("navigation").get_by_role("link", name="E-mails").click()
    national.get_by_label("Année scolaire").select_option(YEAR)
    national.get_by_role("button", name="Filtrer").click()
    checked(national, "the email log")


def test_paid_in_two_times_the_book_gets_two_lines_and_a_cheque_is_found_by_name(stack, new_page):
    number = "0389401D00"
    dues = submitted(stack, number, "Coopérative Scolaire de l'École des Deux Fois", "VIENNE", 3, 60)
    token = stack.login(*STAFF)
    rest = Decimal(dues["amount_due"]) - Decimal("150.00")

    # staff: the cheque found by the school's name, then the transfer
    staff = new_page()
    sign_in(staff, *STAFF)
    staff.get_by_role("navigation").get_by_role("link", name="Remises de chèques").click()
    staff.get_by_role("button", name="Ouvrir un bordereau").click()
    staff.get_by_label("Coopérative (n° ou nom)").fill("deux fois vienne")
    staff.get_by_label("Montant (€)").fill("150,00")
    staff.get_by_label("N° de chèque").fill("0001234")
    staff.get_by_role("button", name="Ajouter le chèque").click()
    expect(staff.get_by_role("status").first).to_contain_text(f"paiement enregistré pour {number}")
    checked(staff, "the cheque slip")
    create_cooperative_by_api(stack, "0389402D00", "deux-rives-1", name="Coopérative Scolaire des Deux Rives",
                              town="VIENNE")
    staff.get_by_label("Coopérative (n° ou nom)").fill("deux vienne")  # two schools: choose
    staff.get_by_label("Montant (€)").fill("1,00")
    staff.get_by_label("N° de chèque").fill("0001235")
    staff.get_by_role("button", name="Ajouter le chèque").click()
    expect(staff.get_by_role("group", name="Laquelle ?")).to_be_visible()
    checked(staff, "the cheque slip's choice")
    staff.get_by_role("navigation").get_by_role("link", name="Plan comptable").click()
    checked(staff, "the chart")
    assert stack.call("post", "/api/payment/payments", token, json={
        "cooperative": number, "year": YEAR, "amount": str(rest), "method": "transfer", "reference": "VIR MAIRIE",
        "received_on": "2025-09-19"}).status_code == 201
    path = f"/api/adhesion/adhesions/{number}/{YEAR}"
    wait_for(lambda: stack.call("get", path, token).json()["checklist"]["payment_received"], what="payment.received")
    assert stack.call("patch", f"{path}/checklist", token, json={"engagement_signed": True}).status_code == 200
    assert stack.call("post", f"{path}/validate", token, json={}).status_code == 200

    # the school: one line per payment, dated as paid
    school = new_page()
    sign_in(school, number, f"{number}-mdp")
    school.goto(f"/adhesion/{YEAR}")
    frame = school.locator(".green-frame")
    reload_until(school, lambda: frame.count() == 1, "the green frame")
    school.goto(f"/cahier/{YEAR}/adhesion")
    main = school.locator("main")
    expect(main).to_contain_text("en 2 fois")
    # oldest first: the transfer of 19/09, then the cheque (added today, dated within the exercise)
    expect(school.locator("#lines-0-method")).to_have_value("transfer")
    expect(school.locator("#lines-0-date")).to_have_value("2025-09-19")
    expect(school.locator("#lines-1-method")).to_have_value("cheque")
    expect(school.locator("#lines-1-cheque_number")).to_have_value("0001234")
    checked(school, "the adhesion entry in two lines")
    school.get_by_role("button", name="Écrire dans le cahier de comptes").click()
    expect(school.get_by_role("status").first).to_contain_text("pièce D01 et les 1 suivante(s)")
    rows = school.locator("table.entries tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("19/09/2025")
    expect(rows.nth(1)).to_contain_text("150,00 €")
    expect(rows.nth(1)).to_contain_text("chèque n° 0001234")
    checked(school, "the book")
