"""docs/campaign.md in Debian's Chromium against the whole system as processes: staff import a
cp1252 file (preview, then progress of the invitations), a school follows its emailed
invitation link to its first login, another uses « Identifiant ou mot de passe perdus »,
and the « Campagne 2025-2026 » page shows the database's figures and its server-drawn
chart. Every page is checked with axe-core and at 375 px; screenshots go to
test-artifacts/screenshots/."""
import re
from datetime import datetime, timezone

import psycopg
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.test_browser import (  # noqa: F401
    PHONE,
    SHOTS,
    STAFF,
    browser,
    new_page,
    no_horizontal_scroll,
    reload_until,
    shot,
    sign_in,
)
from tests.integration.test_departments import school_file
from tests.support import GUIDE, wait_for

YEAR = "2025-2026"
AXE = Axe()


def accessible(page: Page) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, results.generate_report()


def on_phone(page: Page) -> None:
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page), page.url
    page.set_viewport_size({"width": 1280, "height": 900})


def mails_to(sink, address: str) -> list:
    return [m for m in sink.messages() if m["To"] == address]


SYSTEM_ENV = {"SCHOOL_YEAR": YEAR}


def link_in(message, path: str) -> str:
    text = message.get_body(("plain",)).get_content()
    found = re.search(rf"(http://\S+/{path}/\S+)", text)
    assert found, text
    return found.group(1)


def test_import_then_invitation_to_first_login(new_page, stack, sink, tmp_path):
    page = new_page()
    sign_in(page, *STAFF)
    page.goto("/personnel/cooperatives/import")
    accessible(page)
    csv = tmp_path / "ecoles.csv"
    csv.write_bytes(school_file(3, email_of=lambda i: f"ecole{i}@ecoles-isere.fr"))
    page.get_by_label("Fichier CSV").set_input_files(str(csv))
    page.get_by_role("button", name="Vérifier le fichier").click()
    expect(page.locator(".status-line")).to_contain_text("3 à créer")
    expect(page.locator("table.import-preview")).to_contain_text("Échirolles")
    accessible(page)
    on_phone(page)
    shot(page, "20-personnel-import-apercu")
    page.get_by_role("button", name="Importer 3 coopérative(s)").click()
    expect(page.get_by_role("heading", name="Envoi des invitations")).to_be_visible()
    reload_until(page, lambda: "3 sur 3" in page.locator("label[for=progression]").inner_text(), "3 invitations")
    accessible(page)
    shot(page, "21-personnel-import-invitations")

    invitation = wait_for(lambda: mails_to(sink, "ecole1@ecoles-isere.fr"), what="the invitation")[0]
    assert invitation["Subject"] == "Votre accès à l'adhésion OCCE"
    school = new_page()
    school.goto(link_in(invitation, "invitation"))
    expect(school.get_by_role("heading", name="Votre accès à l'adhésion OCCE")).to_be_visible()
    accessible(school)
    on_phone(school)
    shot(school, "22-ecole-invitation")
    school.get_by_label("Mot de passe", exact=True).fill("premier-mdp-ecole")
    school.get_by_label("Le même mot de passe, une seconde fois").fill("premier-mdp-ecole")
    school.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(school.get_by_label("Identifiant")).to_have_value("0380001X00")
    school.get_by_label("Mot de passe").fill("premier-mdp-ecole")
    school.get_by_role("button", name="Se connecter").click()
    expect(school.locator("main")).to_contain_text("Coopérative scolaire de l'école n°1")
    shot(school, "22b-ecole-premiere-connexion")
    assert "/connexion" not in school.url
    # the link served once
    again = new_page()
    again.goto(link_in(invitation, "invitation"))
    again.get_by_label("Mot de passe", exact=True).fill("autre-mdp-ecole")
    again.get_by_label("Le même mot de passe, une seconde fois").fill("autre-mdp-ecole")
    again.get_by_role("button", name="Enregistrer le mot de passe").click()
    expect(again.get_by_role("alert")).to_contain_text("n'est plus valable")


def test_lost_password_by_email(new_page, stack, sink):
    staff = stack.login(*STAFF)
    assert stack.call("post", "/api/adhesion/cooperatives", staff, json={
        "number": "0384444R00", "name": "École du Moulin", "town": "GRENOBLE", "email": "perdu@ecole-du-moulin.fr",
        "password": "ancien-mdp-ecole"}).status_code == 201
    page = new_page()
    page.goto("/connexion")
    page.get_by_role("link", name="Identifiant ou mot de passe perdus").click()
    accessible(page)
    on_phone(page)
    page.get_by_label("Identifiant").fill("0384444R00")
    page.get_by_role("button", name="Recevoir un lien").click()
    expect(page.get_by_role("status")).to_contain_text("Si cet identifiant existe")
    mail = wait_for(lambda: mails_to(sink, "perdu@ecole-du-moulin.fr"), what="the reset email")[0]
    page.goto(link_in(mail, "mot-de-passe/nouveau"))
    accessible(page)
    page.get_by_label("Nouveau mot de passe", exact=True).fill("nouveau-mdp-ecole")
    page.get_by_label("Nouveau mot de passe, une seconde fois").fill("nouveau-mdp-ecole")
    page.get_by_role("button", name="Enregistrer le mot de passe").click()
    assert stack.call("post", "/api/auth/login", json={"login": "0384444R00", "password": "ancien-mdp-ecole"}).status_code == 401
    assert stack.login("0384444R00", "nouveau-mdp-ecole")


def test_campaign_page_matches_the_database(new_page, stack):
    staff = stack.login(*STAFF)
    numbers = [f"03855{i:02d}C00" for i in range(1, 6)]
    for number in numbers:
        assert stack.call("post", "/api/adhesion/cooperatives", staff, json={
            "number": number, "name": f"École {number}", "town": "VOIRON", "email": f"{number.lower()}@ecoles-isere.fr",
            "password": "ecole-secret"}).status_code == 201
    for number in numbers[:4]:
        school = stack.login(number, "ecole-secret")
        assert stack.call("put", f"/api/adhesion/adhesions/{number}/{YEAR}", school, json=GUIDE).status_code == 200
        assert stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/submit", school).status_code == 200
    for number in numbers[:2]:
        wait_for(lambda: stack.call("get", f"/api/payment/dues/{number}/{YEAR}", staff).status_code == 200, what="dues")
        stack.call("post", "/api/payment/payments", staff, json={"cooperative": number, "year": YEAR, "amount": "439.25",
                                                                 "method": "cheque", "reference": "1", "received_on": "2025-09-12"})
        wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{number}/{YEAR}", staff).json()["checklist"][
            "payment_received"], what="payment")
        stack.call("patch", f"/api/adhesion/adhesions/{number}/{YEAR}/checklist", staff, json={"engagement_signed": True})
        assert stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/validate", staff, json={}).status_code == 200
    # the campaign happened in September 2025: place the submissions on its days
    with psycopg.connect(stack.settings.database_url, autocommit=True) as conn:
        for day, number in zip((3, 3, 8, 15), numbers):
            conn.execute("UPDATE adhesion.adhesions SET submitted_at = %s, validated_at = CASE WHEN status = 'validated' "
                         "THEN %s END WHERE cooperative = %s",
                         (datetime(2025, 9, day, 9, tzinfo=timezone.utc), datetime(2025, 9, day + 2, 9, tzinfo=timezone.utc),
                          number))
    stats = stack.call("get", f"/api/adhesion/stats/{YEAR}", staff).json()

    page = new_page()
    sign_in(page, *STAFF)
    page.goto(f"/personnel/campagne/{YEAR}")
    expect(page.get_by_role("heading", name=f"Campagne {YEAR}")).to_be_visible()
    expect(page.locator("#fig-cooperatives")).to_have_text(str(stats["cooperatives"]))
    expect(page.locator("#fig-validated")).to_have_text(str(stats["validated"]))
    expect(page.locator("#fig-submitted")).to_have_text(str(stats["by_status"]["submitted"]))
    expect(page.locator("#fig-unpaid")).to_have_text(str(stats["unpaid"]))
    assert stats["validated"] >= 2 and stats["by_status"]["submitted"] >= 2
    day3 = next(d for d in stats["daily"] if d["date"] == "2025-09-03")
    assert (day3["submitted"], day3["submitted_total"]) == (2, 2)
    chart = page.locator("figure.chart img")
    wait_for(lambda: page.evaluate("img => img.complete && img.naturalWidth > 0", chart.element_handle()), what="the chart")
    accessible(page)
    on_phone(page)
    shot(page, "23-personnel-campagne")
    page.goto(f"/personnel/campagne/{YEAR}/graphique.svg")
    page.screenshot(path=str(SHOTS / "24-campagne-graphique.png"))
    with page.expect_download() as download:
        page.goto(f"/personnel/campagne/{YEAR}")
        page.get_by_role("link", name=re.compile("Les adhésions")).click()
    assert download.value.path().read_bytes().startswith(b"\xef\xbb\xbf")
