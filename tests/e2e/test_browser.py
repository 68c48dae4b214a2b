"""Issue 4 in a real browser: Debian's Chromium, headless, driven by Playwright, against
the whole system as real processes (gunicorn serving every service and the pages, one
Celery worker per service, PostgreSQL, Redis, an aiosmtpd server).

The journey of the guide: staff create a cooperative; the school signs in, fills the
guide's example, sees the amounts, answers chèque = oui and sends it; staff record the
payment, tick the engagement and validate; the school sees « Bravo ! » and downloads both
PDFs. A screenshot of each page goes to test-artifacts/screenshots/ (and, with
UPDATE_DOCS_SCREENSHOTS=1, the two of the README to docs/screenshots/)."""
import io
import os
import re
import shutil
import time

import pytest
import requests
from playwright.sync_api import Page, expect, sync_playwright
from pypdf import PdfReader

from tests.support import ROOT, wait_for

# A page's answer waits as long as an action does (15 s): the suite keeps both cores busy,
# and an assertion's default 5 s failed on a dry run of an import that had answered.
expect.set_options(timeout=15_000)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "test-artifacts" / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}

YEAR = "2025-2026"
NUMBER = "0382296P00"
NAME = "Coopérative Scolaire de l'École Élémentaire Jean Moulin"
TOWN = "VIENNE"
EMAIL = "ce.0382296p@ac-grenoble.fr"
PASSWORD = "ecole-secret"
STAFF = ("admin", "admin-password")


# One system for each browser module (tests/e2e/conftest.py); each test works on its own
# cooperatives. The pages open this school year.
SYSTEM_ENV = {"SCHOOL_YEAR": YEAR}


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser, stack):
    """``new_page()``: a page in a fresh browser context (its own cookies), desktop size by default."""
    contexts = []

    def make(viewport=DESKTOP) -> Page:
        context = browser.new_context(base_url=stack.base, viewport=viewport, locale="fr-FR", accept_downloads=True)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def shot(page: Page, name: str, docs: bool = False) -> None:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if docs and os.environ.get("UPDATE_DOCS_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / path.name)


def sign_in(page: Page, login: str, password: str) -> None:
    page.goto("/connexion")
    page.get_by_label("Identifiant").fill(login)
    page.get_by_label("Mot de passe").fill(password)
    page.get_by_role("button", name="Se connecter").click()


def no_horizontal_scroll(page: Page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def reload_until(page: Page, condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.5)
        page.reload()


def create_cooperative_by_api(stack, number: str, password: str, name: str = "École de test",
                              town: str = "GRENOBLE") -> None:
    staff = stack.login(*STAFF)
    response = stack.call("post", "/api/adhesion/cooperatives", staff, json={
        "number": number, "name": name, "town": town, "email": f"ce.{number.lower()}@ac-grenoble.fr",
        "password": password})
    assert response.status_code == 201, response.text


OTHER_SCHOOLS = (  # more rows in the staff list, as in September
    ("0382001A00", "Coopérative Scolaire de l'École Maternelle Les Glycines", "GRENOBLE", "submitted",
     [("PS-MS", 2, 48), ("GS", 1, 26)]),
    ("0381234B00", "Coopérative Scolaire de l'École Primaire du Vercors", "VILLARD-DE-LANS", "draft",
     [("ECOLE ENTIERE", 3, 61)]),
    ("0385678C00", "Coopérative Scolaire de l'École Élémentaire Jules Ferry", "VOIRON", None, []),
)


def seed_other_schools(stack) -> None:
    for number, name, town, status, classes in OTHER_SCHOOLS:
        create_cooperative_by_api(stack, number, f"{number}-secret", name=name, town=town)
        if status is None:
            continue
        school = stack.login(number, f"{number}-secret")
        body = {"classes": [{"name": c, "teachers": "", "teacher_count": t, "student_count": s} for c, t, s in classes],
                "insurance": True, "goods_value": "0.00", "instruments_value": "0.00",
                "payment": {"transfer": True, "cheque": False, "other": False}}
        path = f"/api/adhesion/adhesions/{number}/{YEAR}"
        assert stack.call("put", path, school, json=body).status_code == 200
        if status == "submitted":
            assert stack.call("post", f"{path}/submit", school).status_code == 200


def test_whole_journey(stack, new_page):
    started = time.monotonic()
    staff = new_page()

    # -- staff sign in and create the cooperative ------------------------------------------
    staff.goto("/")
    expect(staff).to_have_url(re.compile(r"/connexion$"))
    expect(staff.get_by_role("heading", name="S'IDENTIFIER")).to_be_visible()
    expect(staff.get_by_role("link", name="Identifiant ou mot de passe perdus")).to_be_visible()
    shot(staff, "01-connexion")
    sign_in(staff, *STAFF)
    expect(staff).to_have_url(re.compile(r"/personnel/adhesions$"))
    expect(staff.get_by_role("heading", name="Adhésions 2025 - 2026")).to_be_visible()
    cookie = next(c for c in staff.context.cookies() if c["name"] == "retkoop_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    staff.get_by_role("link", name="Coopératives", exact=True).click()
    staff.get_by_role("link", name="Nouvelle coopérative", exact=True).click()
    staff.get_by_label("Numéro de la coopérative (identifiant)").fill(NUMBER.lower())
    staff.get_by_label("Nom", exact=True).fill(NAME)
    staff.get_by_label("Commune").fill(TOWN)
    staff.get_by_label("Adresse e-mail de l'école").fill("pas-une-adresse")
    staff.get_by_label("Mot de passe").fill(PASSWORD)
    staff.get_by_role("button", name="Créer la coopérative").click()
    expect(staff.locator("#email-error")).to_have_text(re.compile("Adresse e-mail invalide"))
    shot(staff, "03-personnel-nouvelle-cooperative-erreur")
    staff.get_by_label("Adresse e-mail de l'école").fill(EMAIL)
    staff.get_by_label("Mot de passe").fill(PASSWORD)
    staff.get_by_role("button", name="Créer la coopérative").click()
    expect(staff.get_by_role("status").first).to_contain_text(f"La coopérative {NUMBER}")
    expect(staff.get_by_role("heading", name="Coopératives sans adhésion 2025 - 2026 (1)")).to_be_visible()
    shot(staff, "04-personnel-cooperative-creee")

    # -- the school: a wrong password, then in with the keyboard alone -------------------------
    school = new_page()
    school.goto("/connexion")
    school.get_by_label("Identifiant").fill(NUMBER)
    school.get_by_label("Mot de passe").fill("mauvais-mot-de-passe")
    school.get_by_role("button", name="Se connecter").click()
    expect(school.get_by_role("alert")).to_have_text("Identifiant ou mot de passe incorrect.")
    expect(school.get_by_label("Identifiant")).to_have_value(NUMBER)
    shot(school, "05-ecole-connexion-erreur")
    school.goto("/connexion")
    expect(school.get_by_label("Identifiant")).to_be_focused()
    school.keyboard.type(NUMBER)
    school.keyboard.press("Tab")
    school.keyboard.type(PASSWORD)
    school.keyboard.press("Enter")
    expect(school).to_have_url(re.compile(r"/accueil$"))
    body = school.locator("main")
    expect(body).to_contain_text("Chaque année entre le 1er et le 30 septembre, l'adhésion à l'OCCE 38 doit être renouvelée.")
    expect(body).to_contain_text("L'adhésion 2025 - 2026 n'est pas encore envoyée.")
    shot(school, "06-ecole-accueil")
    # a school never reaches the staff pages
    assert school.goto("/personnel/adhesions").status == 403
    expect(school.get_by_role("heading", name="Accès refusé")).to_be_visible()

    # -- the adhesion page: a bad count, then the guide's example -------------------------------
    school.goto("/accueil")
    school.get_by_role("link", name="Adhésion", exact=True).first.click()
    expect(school).to_have_url(re.compile(rf"/adhesion/{YEAR}$"))
    expect(school.locator("main")).to_contain_text("OCCE de l'Isère — Année scolaire 2025 - 2026")
    expect(school.get_by_role("heading", level=1)).to_have_text(
        f"Adhésion de la {NAME}, à {TOWN}. ({NUMBER})")
    school.locator("#classes-0-name").fill("ECOLE ENTIERE")
    school.locator("#classes-0-teachers").fill("mei")
    school.locator("#classes-0-teacher_count").fill("10")
    school.locator("#classes-0-student_count").fill("-3")
    school.get_by_role("button", name="Valider et calculer", exact=True).click()
    error = school.locator("#classes-0-student_count-error")
    expect(error).to_have_text(re.compile("Doit être un entier entre 0 et 5000"))
    expect(school.locator("#classes-0-student_count")).to_have_attribute("aria-invalid", "true")
    # the message sits beside its field: in the same row, right under the input
    field_box = school.locator("#classes-0-student_count").bounding_box()
    error_box = error.bounding_box()
    assert 0 <= error_box["y"] - (field_box["y"] + field_box["height"]) < 40
    assert abs(error_box["x"] - field_box["x"]) < 40
    shot(school, "07-ecole-adhesion-erreur")
    school.locator("#classes-0-student_count").fill("5001")
    school.get_by_role("button", name="Valider et calculer", exact=True).click()
    expect(school.locator("#classes-0-student_count-error")).to_have_text(re.compile("entre 0 et 5000"))

    school.locator("#insurance-oui").check()  # Assurance : oui
    school.locator("#classes-0-student_count").fill("165")
    school.locator("#classes-0-student_count").press("Enter")  # Enter in a field = « Valider et calculer »
    amounts = school.locator("table.amounts")
    expect(amounts).to_contain_text("Adhésion :")
    expect(amounts).to_contain_text("des coopérateurs (175 x 2,26 €) :")
    expect(amounts).to_contain_text("395,50 €")
    expect(amounts).to_contain_text("Assurance :")
    expect(amounts).to_contain_text("43,75 €")
    expect(amounts.locator("tr.total")).to_contain_text("total :")
    expect(amounts.locator("tr.total")).to_contain_text("439,25 €")
    expect(school.locator("#classes-0-name")).to_have_value("ECOLE ENTIERE")

    # adding and deleting a row
    school.get_by_role("button", name="+ Ajouter une ligne").click()
    school.locator("#classes-2-name").fill("CP")
    school.locator("#classes-2-teacher_count").fill("0")  # an empty count is refused, never taken for 0
    school.locator("#classes-2-student_count").fill("20")
    school.get_by_role("button", name="Valider et calculer", exact=True).click()
    expect(amounts.locator("tr.total")).to_contain_text("489,45 €")  # 195 × 2,26 + 195 × 0,25
    school.get_by_role("button", name="Supprimer la ligne CP").click()
    expect(school.locator("#classes-1-name")).to_have_value("")
    expect(amounts.locator("tr.total")).to_contain_text("439,25 €")

    school.locator("#pay_cheque-oui").check()
    school.get_by_role("button", name="Mettre à jour les informations").click()
    banner = school.locator("#etat")
    expect(banner).to_contain_text("L'adhésion est saisie")
    expect(banner).to_contain_text("Le paiement n'est pas validé !")
    expect(school.locator("#pay_cheque-oui")).to_be_checked()
    shot(school, "08-ecole-adhesion-saisie", docs=True)

    phone = new_page(PHONE)
    phone.context.add_cookies(school.context.cookies())
    phone.goto(f"/adhesion/{YEAR}")
    expect(phone.locator("#etat")).to_contain_text("Le paiement n'est pas validé !")
    assert no_horizontal_scroll(phone), "the adhesion page scrolls sideways on a 375 px screen"
    shot(phone, "09-ecole-adhesion-375px")
    school.goto("/accueil")
    expect(school.locator("#etat")).to_contain_text("Le paiement n'est pas validé !")
    shot(school, "10-ecole-accueil-saisie")

    # -- staff: the list, the payment, the checklist, the validation ---------------------------
    seed_other_schools(stack)
    staff.goto("/personnel/adhesions")
    row = staff.get_by_role("row").filter(has_text=NAME)
    expect(row).to_contain_text("439,25 €")
    expect(row).to_contain_text("Saisie")
    expect(row).to_contain_text("non payé")
    counts = staff.locator(".counts")
    expect(counts).to_contain_text("3 au total")
    expect(counts).to_contain_text("2 saisies")
    expect(counts).to_contain_text("1 non envoyée")
    expect(staff.get_by_role("heading", name="Coopératives sans adhésion 2025 - 2026 (1)")).to_be_visible()
    shot(staff, "11-personnel-adhesions", docs=True)
    staff.get_by_label("Paiement non reçu seulement").check()
    staff.get_by_role("button", name="Filtrer").click()
    expect(staff.get_by_role("row").filter(has_text=NAME)).to_be_visible()
    staff.get_by_label("Statut", exact=True).select_option("validated")
    staff.get_by_role("button", name="Filtrer").click()
    expect(staff.get_by_text("Aucune adhésion ne correspond à ces critères.")).to_be_visible()

    staff.goto(f"/personnel/adhesions/{NUMBER}/{YEAR}")
    expect(staff.locator("#controle")).to_contain_text("1. le paiement de 439,25 €. (Réc. paiement : aucun paiement reçu)")
    expect(staff.get_by_label("Montant (€)")).to_have_value("439,25")
    expect(staff.get_by_label("Moyen de paiement")).to_have_value("cheque")
    staff.get_by_label("N° de chèque ou référence").fill("1234567")
    staff.get_by_role("button", name="Enregistrer le paiement").click()
    expect(staff.get_by_role("status").first).to_contain_text("Paiement de 439,25 € enregistré (chèque)")
    first_item = staff.locator("table.checklist tbody tr").first
    reload_until(staff, lambda: first_item.locator("td.ok").count() == 1, "payment.received in the checklist")
    expect(first_item).to_contain_text("1. le paiement de 439,25 €. (Réc. paiement : chèque)")

    staff.get_by_role("button", name="Valider l'adhésion").click()  # the engagement is missing
    expect(staff.locator("#validation")).to_contain_text("l'engagement du mandataire daté et signé n'est pas coché")
    staff.get_by_label("2. L'engagement du mandataire daté(s) et signé(s) est reçu").check()
    staff.get_by_role("button", name="Enregistrer la liste de contrôle").click()
    expect(staff.get_by_role("status").first).to_contain_text("Liste de contrôle enregistrée.")
    shot(staff, "12-personnel-adhesion-a-valider")
    staff.get_by_role("button", name="Valider l'adhésion").click()
    expect(staff.locator("#etat")).to_contain_text("Code d'enregistrement : 26/0001 A")
    reload_until(staff, lambda: staff.locator(".document-link").count() == 2, "the documents on the staff page")
    shot(staff, "13-personnel-adhesion-validee")

    # -- the school: Bravo ! and both PDFs -------------------------------------------------------
    school.goto("/accueil")
    expect(school.locator("#etat")).to_contain_text("L'adhésion est saisie, et a été validée. Bravo !")
    reload_until(school, lambda: school.locator(".document-link").count() == 2, "the documents on the home page")
    shot(school, "14-ecole-accueil-validee")
    for label in ("Attestation d'adhésion", "Certificat d'assurance"):
        with school.expect_download() as download_info:
            school.get_by_role("link", name=label).click()
        pdf = download_info.value.path().read_bytes()
        assert pdf.startswith(b"%PDF"), label
        # lines wrap wherever the layout breaks them: compare on single spaces
        text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())
        assert NAME in text and "26/0001 A" in text, label
    school.goto(f"/adhesion/{YEAR}")
    expect(school.locator("main")).to_contain_text(
        f"La Coopérative Scolaire {NUMBER} est bien adhérente de l'OCCE 38 pour l'année scolaire 2025 - 2026.")
    expect(school.locator("input[type=number]")).to_have_count(0)  # read-only once validated
    shot(school, "15-ecole-adhesion-validee")

    # -- staff: the email log and the rates ------------------------------------------------------
    staff.goto(f"/personnel/emails?cooperative={NUMBER}")
    reload_until(staff, lambda: staff.get_by_role("row").filter(has_text="confirmation de validation")
                 .filter(has_text="envoyé").count() == 1, "the confirmation email to be sent")
    expect(staff.get_by_role("row").filter(has_text="accusé de réception")).to_contain_text(EMAIL)
    shot(staff, "16-personnel-emails")
    staff.get_by_role("link", name="Tarifs").click()
    expect(staff.get_by_label("Adhésion par élève (€)")).to_have_value("2,26")
    expect(staff.get_by_label("Biens : taux de la prime (ex. 0,00688)")).to_have_value("0,00688")
    shot(staff, "17-personnel-tarifs")
    staff.get_by_label("Assurance par coopérateur (€)").fill("0,2x")
    staff.get_by_role("button", name="Enregistrer les tarifs").click()
    expect(staff.locator("#insurance_per_cooperator-error")).to_have_text(re.compile("Montant invalide"))
    staff.get_by_label("Assurance par coopérateur (€)").fill("0,25")
    staff.get_by_role("button", name="Enregistrer les tarifs").click()
    expect(staff.get_by_role("status").first).to_contain_text("Les tarifs 2025 - 2026 sont enregistrés.")

    # reopening keeps the code; the school may amend again
    staff.goto(f"/personnel/adhesions/{NUMBER}/{YEAR}")
    staff.get_by_role("button", name="Rouvrir l'adhésion").click()
    expect(staff.get_by_role("status").first).to_contain_text("L'adhésion est rouverte")
    expect(staff.get_by_label("Code d'enregistrement (facultatif)")).to_have_value("26/0001 A")
    school.goto("/accueil")
    expect(school.locator("#etat")).to_contain_text("L'adhésion est saisie")
    print(f"journey in {time.monotonic() - started:.1f}s")


def test_forms_without_their_csrf_token_are_refused(stack, new_page):
    create_cooperative_by_api(stack, "0380002B00", "autre-secret")
    staff = new_page()
    sign_in(staff, *STAFF)
    expect(staff).to_have_url(re.compile(r"/personnel/adhesions$"))
    fields = {"number": "0380003C00", "name": "Sans jeton", "town": "VOIRON", "email": "a@ac-grenoble.fr",
              "password": "un-mot-de-passe"}
    refused = staff.request.post("/personnel/cooperatives/nouvelle", form=fields)
    assert refused.status == 400 and "Formulaire refusé" in refused.text()
    forged = staff.request.post("/personnel/cooperatives/nouvelle", form={**fields, "csrf_token": "faux"})
    assert forged.status == 400
    staff.goto("/personnel/adhesions")
    assert "0380003C00" not in staff.content()  # nothing was created

    school = new_page()
    sign_in(school, "0380002B00", "autre-secret")
    expect(school).to_have_url(re.compile(r"/accueil$"))
    posted = school.request.post(f"/adhesion/{YEAR}", form={
        "row_count": "1", "classes-0-name": "CE1", "classes-0-student_count": "20", "insurance": "non",
        "pay_cheque": "oui", "action": "submit"})
    assert posted.status == 400
    school.goto(f"/adhesion/{YEAR}")
    expect(school.locator("#etat")).to_contain_text("pas encore envoyée")
    shot(school, "18-ecole-brouillon")
    logout = school.request.post("/deconnexion", form={})
    assert logout.status == 400
    # a sign-in posted from elsewhere (no session, no token) is refused too
    response = requests.post(f"{stack.base}/connexion", data={"login": "0380002B00", "password": "autre-secret"},
                             allow_redirects=False, timeout=10)
    assert response.status_code == 400 and "Formulaire refusé" in response.text
    page = new_page()
    page.goto("/connexion")
    page.set_content(refused.text())  # what the person sees: a French page, no stack trace
    expect(page.get_by_role("heading", name="Formulaire refusé")).to_be_visible()
    shot(page, "19-formulaire-refuse")


def test_carried_over_names_then_correction_requested(stack, new_page):
    create_cooperative_by_api(stack, "0380004D00", "troisieme-secret", name="École des Tilleuls")
    token = stack.login("0380004D00", "troisieme-secret")
    last_year = {"classes": [{"name": "CM1", "teachers": "M. Roux", "teacher_count": 1, "student_count": 22},
                             {"name": "CM2", "teachers": "", "teacher_count": 1, "student_count": 25}],
                 "insurance": False, "goods_value": "0.00", "instruments_value": "0.00",
                 "payment": {"transfer": True, "cheque": False, "other": False}}
    assert stack.call("put", "/api/adhesion/adhesions/0380004D00/2024-2025", token, json=last_year).status_code == 200
    school = new_page()
    sign_in(school, "0380004D00", "troisieme-secret")
    school.goto(f"/adhesion/{YEAR}")
    # last year's class names and teachers are there, the counts back to zero
    expect(school.locator("#classes-0-name")).to_have_value("CM1")
    expect(school.locator("#classes-0-teachers")).to_have_value("M. Roux")
    expect(school.locator("#classes-0-student_count")).to_have_value("0")
    expect(school.locator("#classes-1-name")).to_have_value("CM2")
    shot(school, "20-ecole-noms-reportes")
    school.get_by_role("button", name="Mettre à jour les informations").click()  # no counts, no payment
    expect(school.locator("#classes-error")).to_contain_text("Indiquez au moins un coopérateur")
    expect(school.locator("#payment-error")).to_contain_text("Choisissez au moins un moyen de paiement")
    expect(school.locator("#probleme")).to_contain_text("L'adhésion n'est pas complète.")
    school.get_by_role("button", name="Supprimer la ligne CM1").click()
    school.locator("#classes-0-teacher_count").fill("1")
    school.locator("#classes-0-student_count").fill("24")
    school.locator("#pay_transfer-oui").check()
    school.get_by_role("button", name="Mettre à jour les informations").click()
    expect(school.locator("#etat")).to_contain_text("L'adhésion est saisie")

    staff = new_page()
    sign_in(staff, *STAFF)
    staff.goto(f"/personnel/adhesions/0380004D00/{YEAR}")
    staff.get_by_label("Message à l'école : ce qu'il faut corriger ou compléter").fill(
        "Merci d'indiquer le nom de l'enseignante de CM2.")
    staff.get_by_role("button", name="Demander une correction").click()
    expect(staff.locator("#etat")).to_contain_text("Merci d'indiquer le nom de l'enseignante de CM2.")

    school.goto("/accueil")
    banner = school.locator("#etat")
    expect(banner).to_contain_text("L'adhésion est saisie, mais elle doit être corrigée. "
                                   "L'OCCE 38 a besoin d'informations complémentaires")
    expect(banner).to_contain_text("Merci d'indiquer le nom de l'enseignante de CM2.")
    expect(banner).to_contain_text("Le paiement n'est pas validé !")
    shot(school, "21-ecole-correction-demandee")
    school.goto(f"/adhesion/{YEAR}")
    school.locator("#classes-0-teachers").fill("Mme Martin martin@ac-grenoble.fr")
    school.get_by_role("button", name="Mettre à jour les informations").click()
    expect(school.locator("#etat")).to_contain_text("L'adhésion est saisie")
    expect(school.locator("#etat")).not_to_contain_text("corrigée")


def test_staff_send_renewal_reminders(stack, new_page):
    create_cooperative_by_api(stack, "0380005E00", "rappel-secret", name="École des Rappels")
    staff = new_page()
    sign_in(staff, *STAFF)
    staff.goto("/personnel/adhesions")
    button = staff.get_by_role("button", name=re.compile(r"^Envoyer un rappel par e-mail \(\d+\)$"))
    count = int(re.search(r"\((\d+)\)", button.inner_text()).group(1))
    assert count >= 1
    button.click()  # not confirmed: the browser keeps the form (hundreds of emails are never a stray click)
    expect(staff.locator("#rappel")).to_have_count(0)
    confirm = staff.get_by_role("checkbox", name=re.compile(r"Je confirme l.envoi d.un rappel par e-mail"))
    expect(confirm).to_have_accessible_name(re.compile(rf"à {count} coopératives?\.$"))
    confirm.check()
    button.click()
    expect(staff.get_by_role("status").first).to_have_text(f"Rappel envoyé à {count} coopérative(s).")
    # the round's progress, which staff reload until every reminder is sent
    expect(staff.locator("#rappel h2")).to_contain_text(f"sur {count}")
    reload_until(staff, lambda: re.search(rf": {count} e-mails? envoyés? sur {count}$",
                                          staff.locator("#rappel h2").inner_text().strip()),
                 "the round's progress to show every reminder sent")
    staff.goto("/personnel/emails?cooperative=0380005E00")
    reload_until(staff, lambda: staff.get_by_role("row").filter(has_text="relance")
                 .filter(has_text="envoyé").count() == 1, "the renewal reminder to be sent")
    shot(staff, "22-personnel-rappel")


def test_school_changes_its_password_and_other_sessions_end(stack, new_page):
    number, old, new = "0389876D00", "ancien-secret", "nouveau-secret"
    create_cooperative_by_api(stack, number, old)
    other = stack.login(number, old)  # the same school on another device
    phone = new_page(PHONE)
    sign_in(phone, number, old)
    phone.get_by_role("link", name="Changer mon mot de passe").click()
    expect(phone.get_by_role("heading", name="Changer mon mot de passe")).to_be_visible()
    assert no_horizontal_scroll(phone), "the password page scrolls sideways on a 375 px screen"
    phone.get_by_label("Mot de passe actuel").fill("pas-le-bon")
    phone.get_by_label("Nouveau mot de passe", exact=True).fill(new)
    phone.get_by_label("Nouveau mot de passe, une seconde fois").fill(new)
    phone.get_by_role("button", name="Changer mon mot de passe").click()
    expect(phone.locator("#current-error")).to_contain_text("Mot de passe incorrect")
    phone.get_by_label("Mot de passe actuel").fill(old)
    phone.get_by_label("Nouveau mot de passe", exact=True).fill(new)
    phone.get_by_label("Nouveau mot de passe, une seconde fois").fill(new)
    phone.get_by_role("button", name="Changer mon mot de passe").click()
    expect(phone.get_by_role("status").first).to_contain_text("Votre mot de passe est changé")
    shot(phone, "16-mot-de-passe-change-375px")
    assert stack.call("get", f"/api/adhesion/cooperatives/{number}", other).status_code == 401
    phone.get_by_role("button", name="Se déconnecter").click()
    expect(phone.get_by_role("heading", name="S'IDENTIFIER")).to_be_visible()
    sign_in(phone, number, new)
    expect(phone.get_by_role("link", name="Changer mon mot de passe")).to_be_visible()


def test_another_site_cannot_sign_a_school_out_nor_fill_its_form(stack, new_page):
    """Issue 24 item 3: a page of another site posting to the adhesion form, in the school's
    own browser, neither ends its session nor comes back as « ce que vous aviez saisi »."""
    number, password = "0380024K00", "ecole-secret"
    create_cooperative_by_api(stack, number, password)
    school = new_page()
    sign_in(school, number, password)
    expect(school).to_have_url(re.compile(r"/accueil$"))
    attacker = school.context.new_page()  # another tab of the same browser
    attacker.route("http://pieges.example/", lambda route: route.fulfill(content_type="text/html", body=f"""
        <!doctype html><title>Jeu</title>
        <form method="post" action="{stack.base}/adhesion/{YEAR}">
          <input name="csrf_token" value="nimporte"><input name="owner" value="{number}">
          <input name="row_count" value="1"><input name="classes-0-name" value="PIRATE">
          <input name="classes-0-student_count" value="999"><input name="action" value="calculate">
        </form><script>document.forms[0].submit()</script>"""))
    attacker.goto("http://pieges.example/")
    attacker.wait_for_url(re.compile(re.escape(stack.base)))  # the app's answer to that post
    assert "Formulaire refusé" in attacker.content()  # not the sign-in page of a kept form
    school.goto(f"/adhesion/{YEAR}")
    expect(school).to_have_url(re.compile(rf"/adhesion/{YEAR}$"))  # still signed in
    expect(school.locator("#classes-0-name")).not_to_have_value("PIRATE")
    school.get_by_role("button", name="Se déconnecter").click()
    sign_in(school, number, password)
    expect(school).to_have_url(re.compile(r"/accueil$"))  # no kept form waited for it
    # the browser lost every cookie (not only its session): nothing vouches for the form
    school.goto(f"/adhesion/{YEAR}")
    school.locator("#classes-0-name").fill("CP")
    school.context.clear_cookies()
    school.get_by_role("button", name="Valider et calculer", exact=True).click()
    expect(school.get_by_role("heading", name="Formulaire refusé")).to_be_visible()


def test_a_lost_password_typed_in_small_letters_sends_the_link(stack, sink, new_page):
    """Issue 25 item 2: « 0690501v00 » finds the school « 0690501V00 », as the sign-in does."""
    number = "0380025V00"
    create_cooperative_by_api(stack, number, "ancien-secret")
    page = new_page(PHONE)
    page.goto("/connexion")
    page.get_by_role("link", name="Identifiant ou mot de passe perdus").click()
    page.get_by_label("Identifiant").fill(number.lower())
    page.get_by_role("button", name="Recevoir un lien").click()
    expect(page.get_by_role("status")).to_contain_text("Si cet identifiant existe")
    to = f"ce.{number.lower()}@ac-grenoble.fr"
    [mail] = wait_for(lambda: [m for m in sink.messages() if m["To"] == to and m["X-Retkoop-Kind"] == "password_reset"],
                      timeout=60, what="the reset email")
    link = re.search(r"(http://\S+/mot-de-passe/nouveau/\S+)", mail.get_body(("plain",)).get_content()).group(1)
    page.goto(link)
    page.get_by_label("Nouveau mot de passe", exact=True).fill("nouveau-secret")
    page.get_by_label("Nouveau mot de passe, une seconde fois").fill("nouveau-secret")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    assert stack.login(number, "nouveau-secret")
