"""Issue 22 in a real browser against the whole system as processes (the audit service's
worker appending what every service's outbox publishes): the staff's « Journal » filtered
by cooperative and action, the « Historique » of the adhesion page (who recorded the
payment, who validated, when), the public « Données personnelles » page and the school's
copy of its data. Every page state is checked with axe-core at 1280 and 375 px."""
import json
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

SYSTEM_ENV = {"SCHOOL_YEAR": YEAR}
NUMBER = "0389999J00"
PASSWORD = "journal-secret"
AXE = Axe()


def checked(page: Page, name: str) -> None:
    """0 axe violations and no sideways scroll, at this size and on a phone."""
    results = AXE.run(page)
    assert results.violations_count == 0, results.generate_report()
    shot(page, name)
    size = page.viewport_size
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page), f"{name} scrolls sideways on a 375 px screen"
    results = AXE.run(page)
    assert results.violations_count == 0, results.generate_report()
    shot(page, f"{name}-375px")
    page.set_viewport_size(size)


def test_journal_history_and_personal_data_pages(stack, new_page):
    create_cooperative_by_api(stack, NUMBER, PASSWORD, name="École du Journal", town="VIENNE")
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
    wait_for(lambda: any(r["action"] == "adhesion.validated" for r in stack.call(
        "get", "/api/audit/events", staff, params={"target": NUMBER}).json()["items"]), timeout=60,
        what="the audit worker")

    page = new_page()
    sign_in(page, *STAFF)
    page.goto("/personnel/journal")
    expect(page.locator("h1")).to_have_text("Journal")
    page.get_by_label("Coopérative (numéro)").fill(NUMBER)
    page.get_by_label("Action", exact=True).select_option("payment.recorded")
    page.get_by_role("button", name="Filtrer").click()
    rows = page.locator("table.journal tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Paiement enregistré")
    expect(rows.first).to_contain_text("admin")
    expect(rows.first).to_contain_text("amount : 439.25")
    checked(page, "22-personnel-journal")
    with page.expect_download() as download:
        page.get_by_role("link", name="Télécharger (CSV)").click()
    assert "payment.recorded" in download.value.path().read_text(encoding="utf-8-sig")

    page.goto(f"/personnel/adhesions/{NUMBER}/{YEAR}")
    history = page.locator("section[aria-labelledby=historique-titre]")
    expect(history).to_contain_text("Adhésion validée")
    expect(history).to_contain_text("Paiement enregistré (439,25 €) par admin")
    checked(page, "22-personnel-adhesion-historique")

    school_page = new_page()
    school_page.goto("/donnees-personnelles")
    expect(school_page.locator("h1")).to_have_text("Données personnelles")
    checked(school_page, "22-donnees-personnelles")
    sign_in(school_page, NUMBER, PASSWORD)
    expect(school_page).to_have_url(re.compile(r"/accueil$"))
    school_page.goto("/donnees-personnelles")
    with school_page.expect_download() as download:
        school_page.get_by_role("link", name="Télécharger les données de ma coopérative").click()
    copy = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert copy["cooperative"] == NUMBER
    assert "École du Journal" in json.dumps(copy["services"]["payment"], ensure_ascii=False)
    checked(school_page, "22-donnees-personnelles-ecole")
