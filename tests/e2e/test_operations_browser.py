"""« État du système » in a real browser (Chromium through Playwright): the national admin
reads the queues, workers, outboxes and email figures, finds an email the SMTP relay
refused for good (550) and sends it again with « Renvoyer », once the relay takes that
mailbox; finds the documents of a validation not produced (their store a regular file,
given up after DOCUMENTS_GIVE_UP_SECONDS) and has them drawn with « Réémettre les
documents et renvoyer » once the store is repaired; a departmental agent neither sees
the tab nor opens the page. axe-core at 1280 and 375 px."""
import re
import shutil

import pytest
from aiosmtpd.controller import Controller
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from deploy.smtp_sink import _SaveToDirectory
from deploy.stack import Stack, free_port
from tests.e2e.test_browser import (  # noqa: F401 (fixtures)
    PHONE,
    STAFF,
    YEAR,
    browser,
    new_page,
    no_horizontal_scroll,
    shot,
    sign_in,
)
from tests.support import GUIDE, fresh_postgres_database, wait_for

NUMBER = "0385001R00"
MAILBOX = "refuse.0385001r@ac-grenoble.fr"
UNPRODUCED = "0385002S00"  # the school whose documents cannot be stored at first
UNPRODUCED_MAILBOX = "ce.0385002s@ac-grenoble.fr"
GIVE_UP_SECONDS = "4"  # the documents' retries end this soon here (production: 30 minutes)
AXE = Axe()


class RefusingRelay(_SaveToDirectory):
    """The sink, refusing the mailboxes of ``refused`` for good (550) while they are in it."""

    def __init__(self, directory):
        super().__init__(directory)
        self.refused: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 Boîte inconnue"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture(scope="module")
def system(tmp_path_factory, redis_server):
    import redis

    base = tmp_path_factory.mktemp("operations_browser")
    (base / "mailbox").mkdir()
    relay = RefusingRelay(base / "mailbox")
    relay.refused.add(MAILBOX)
    controller = Controller(relay, hostname="127.0.0.1", port=free_port())
    controller.start()
    broker_url = redis_server.url.rsplit("/", 1)[0] + "/3"
    redis.Redis.from_url(broker_url).flushdb()
    try:
        with fresh_postgres_database() as database_url:
            stack = Stack(base / "data", database_url, broker_url, controller.port, SCHOOL_YEAR=YEAR,
                          DOCUMENTS_GIVE_UP_SECONDS=GIVE_UP_SECONDS)
            try:
                yield stack.start(), relay
            except BaseException:
                print(stack.logs())
                raise
            finally:
                stack.stop()
    finally:
        controller.stop()
        redis.Redis.from_url(broker_url).flushdb()


@pytest.fixture(scope="module")
def stack(system):
    return system[0]


def accessible(page: Page) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, results.generate_report()


def failed_submission_ack(stack):
    staff = stack.login(*STAFF)
    assert stack.call("post", "/api/adhesion/cooperatives", staff, json={
        "number": NUMBER, "name": "Coopérative Scolaire de l'École du Relais", "town": "VIENNE",
        "email": MAILBOX, "password": "relais-secret"}).status_code == 201
    school = stack.login(NUMBER, "relais-secret")
    assert stack.call("put", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", school, json=GUIDE).status_code == 200
    assert stack.call("post", f"/api/adhesion/adhesions/{NUMBER}/{YEAR}/submit", school).status_code == 200
    return wait_for(lambda: [m for m in stack.call("get", f"/api/notify/messages?cooperative={NUMBER}&status=failed",
                                                   staff).json()["items"]], timeout=60, what="the refused email")[0]


def test_status_page_and_resend(system, new_page):
    stack, relay = system
    failed = failed_submission_ack(stack)
    assert "550" in failed["last_error"]

    page = new_page()
    sign_in(page, *STAFF)
    page.get_by_role("link", name="État du système").click()
    expect(page).to_have_url(re.compile(r"/personnel/systeme$"))
    main = page.locator("main")
    expect(main.get_by_role("heading", name="Files de travail")).to_be_visible()
    expect(main.get_by_role("cell", name=re.compile("Documents \\(PDF\\)"))).to_be_visible()
    expect(main.get_by_role("heading", name="Workers vus dans la dernière minute")).to_be_visible()
    expect(main).to_contain_text("documents-")  # the workers' names (the stack's: <queue>-<tail>@host)
    expect(main.get_by_role("heading", name="Événements en attente de publication")).to_be_visible()
    row = main.get_by_role("row").filter(has_text=MAILBOX)
    expect(row).to_contain_text("550")
    expect(row).to_contain_text("département 38")
    accessible(page)
    shot(page, "30-etat-du-systeme")
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    accessible(page)
    shot(page, "31-etat-du-systeme-375")

    relay.refused.clear()  # the mailbox exists now: « Renvoyer » delivers it
    row.get_by_role("button", name=f"Renvoyer l'e-mail à {MAILBOX}").click()
    expect(page.locator(".notice-success")).to_contain_text("L'e-mail est renvoyé")
    accessible(page)
    staff = stack.login(*STAFF)
    sent = wait_for(lambda: [m for m in stack.call("get", f"/api/notify/messages?cooperative={NUMBER}",
                                                   staff).json()["items"] if m["status"] == "sent"], timeout=60,
                    what="the email sent again")
    assert sent[0]["message_id"] == failed["message_id"]  # the same email, not a new one
    delivered = [p for p in relay.directory.glob("*.eml") if MAILBOX in p.read_text(errors="replace")]
    assert len(delivered) == 1
    page.reload()
    expect(page.locator("main")).not_to_contain_text(MAILBOX)
    # a second « Renvoyer » of the same email is refused: it is sent
    again = stack.call("post", f"/api/adhesion/operations/emails/{failed['id']}/resend", staff)
    assert again.status_code == 409, again.text


def validated_by_api(stack, number: str, email: str) -> None:
    staff = stack.login(*STAFF)
    assert stack.call("post", "/api/adhesion/cooperatives", staff, json={
        "number": number, "name": "Coopérative Scolaire de l'École du Stock", "town": "VIENNE",
        "email": email, "password": "stock-secret"}).status_code == 201
    school = stack.login(number, "stock-secret")
    path = f"/api/adhesion/adhesions/{number}/{YEAR}"
    assert stack.call("put", path, school, json=GUIDE).status_code == 200
    assert stack.call("post", f"{path}/submit", school).status_code == 200
    wait_for(lambda: stack.call("get", f"/api/payment/dues/{number}/{YEAR}", staff).status_code == 200,
             what="the dues")
    assert stack.call("post", "/api/payment/payments", staff, json={
        "cooperative": number, "year": YEAR, "amount": "439.25", "method": "cheque", "reference": "7",
        "received_on": "2025-09-12"}).status_code == 201
    wait_for(lambda: stack.call("get", path, staff).json()["checklist"]["payment_received"], what="payment.received")
    assert stack.call("patch", f"{path}/checklist", staff, json={"engagement_signed": True}).status_code == 200
    assert stack.call("post", f"{path}/validate", staff, json={}).status_code == 200


def test_documents_not_produced_then_reissued(system, new_page):
    stack, relay = system
    store = stack.settings.data_dir / "documents"
    shutil.rmtree(store, ignore_errors=True)
    store.write_text("pas un dossier")  # every write of a PDF fails (NotADirectoryError)
    validated_by_api(stack, UNPRODUCED, UNPRODUCED_MAILBOX)
    staff = stack.login(*STAFF)
    wait_for(lambda: stack.call("get", "/api/documents/failures", staff).json()["items"], timeout=90,
             what=f"the documents given up\n{stack.workers['documents'].log()[-3000:]}")
    assert "given up" in stack.workers["documents"].log()

    page = new_page()
    sign_in(page, *STAFF)
    page.get_by_role("link", name="État du système").click()
    main = page.locator("main")
    expect(main.get_by_role("heading", name="Documents non produits")).to_be_visible()
    row = main.get_by_role("row").filter(has_text=UNPRODUCED)
    expect(row).to_contain_text("Enregistrement des PDF impossible")
    expect(row).to_contain_text("Attestation d'adhésion")
    accessible(page)
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    accessible(page)
    shot(page, "32-documents-non-produits-375")
    # the department's staff find them where they follow their emails: the confirmation waits
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="E-mails").click()
    listed = page.locator("main").get_by_role("row").filter(has_text=UNPRODUCED).filter(
        has_text="Enregistrement des PDF impossible")
    expect(listed).to_contain_text("Attestation d'adhésion")
    expect(listed.get_by_role("button", name=re.compile("Réémettre les documents et renvoyer"))).to_be_visible()
    accessible(page)
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    accessible(page)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_role("link", name="État du système").click()
    row = page.locator("main").get_by_role("row").filter(has_text=UNPRODUCED)

    store.unlink()  # the store repaired
    row.get_by_role("button", name=re.compile(f"Réémettre les documents et renvoyer : {UNPRODUCED}")).click()
    expect(page.locator(".notice-success")).to_contain_text(f"Documents de {UNPRODUCED} produits")
    expect(page.locator("main")).to_contain_text("Aucun document en échec")
    accessible(page)
    documents = stack.call("get", f"/api/documents/{UNPRODUCED}/{YEAR}", staff).json()["documents"]
    assert [d["kind"] for d in documents] == ["attestation", "certificate"]
    wait_for(lambda: [p for p in relay.directory.glob("*.eml") if UNPRODUCED_MAILBOX in p.read_text(errors="replace")
                      and "application/pdf" in p.read_text(errors="replace")], timeout=60,
             what="the confirmation with its documents")


def test_agent_has_no_status_page(stack, new_page):
    staff = stack.login(*STAFF)
    assert stack.call("post", "/api/adhesion/staff", staff, json={
        "login": "agent.relais", "password": "agent-secret-2", "department": "38",
        "email": "agent.relais@occe38.fr"}).status_code == 201
    page = new_page()
    sign_in(page, "agent.relais", "agent-secret-2")
    expect(page.get_by_role("link", name="Adhésions")).to_be_visible()
    expect(page.get_by_role("link", name="État du système")).to_have_count(0)
    response = page.goto("/personnel/systeme")
    assert response.status == 403
    accessible(page)
