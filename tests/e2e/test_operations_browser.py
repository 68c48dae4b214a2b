"""« État du système » in a real browser (Chromium through Playwright): the national admin
reads the queues, workers, outboxes and email figures, finds an email the SMTP relay
refused for good (550) and sends it again with « Renvoyer », once the relay takes that
mailbox; a departmental agent neither sees the tab nor opens the page. axe-core at 1280
and 375 px."""
import re

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
            stack = Stack(base / "data", database_url, broker_url, controller.port, SCHOOL_YEAR=YEAR)
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
