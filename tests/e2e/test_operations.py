"""Issue 23 (operations): ``GET /metrics`` and « État du système » on the whole system as
processes (gunicorn, every worker, PostgreSQL, Redis, a real SMTP server).

A burst of validations is sent while the documents worker is stopped: the figures show
its queue rising and its oldest message ageing, then falling to 0 once a worker takes it;
the counters of every process (the web server, the pool processes of the workers) are
added up; /metrics is refused without its token."""
import re
import time

import requests

from tests.faults import Validations, confirmations, numbers, prepare
from tests.quiet import quiet
from tests.support import wait_for

TOKEN = "metrics-secret-token"
SYSTEM_ENV = {"METRICS_TOKEN": TOKEN}
SAMPLE = re.compile(r'^(?P<name>[a-z_:]+)(?:\{(?P<labels>[^}]*)\})? (?P<value>\S+)$')


def scrape(stack, token=TOKEN) -> dict[tuple[str, frozenset], float]:
    response = requests.get(f"{stack.base}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/plain")
    samples = {}
    for line in response.text.splitlines():
        match = SAMPLE.match(line)
        if match:
            labels = frozenset(re.findall(r'(\w+)="([^"]*)"', match["labels"] or ""))
            samples[(match["name"], labels)] = float(match["value"])
    return samples


def value(samples, name, **labels) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def total(samples, name, **labels) -> float:
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def test_metrics_refused_without_the_token(stack):
    assert requests.get(f"{stack.base}/metrics", timeout=10).status_code == 401
    wrong = requests.get(f"{stack.base}/metrics", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 403
    assert wrong.json()["error"] == "forbidden"
    assert "retkoop_" not in wrong.text


def test_metrics_and_status_during_a_burst(stack, sink):
    staff = stack.login("admin", "admin-password")
    cooperatives = numbers(12, prefix="0384")
    prepare(stack, staff, cooperatives)
    documents = stack.workers["documents"]
    documents.stop()  # the burst's renderings wait in the queue meanwhile
    before = scrape(stack)
    Validations(stack, staff).run(cooperatives, threads=4)

    # the queue rose: one rendering per validation, waiting, its oldest ageing
    during = wait_for(lambda: (lambda s: value(s, "retkoop_queue_messages", queue="documents") == len(cooperatives)
                               and s)(scrape(stack)), timeout=30, what="the documents queue at 12")
    time.sleep(1.5)
    later = scrape(stack)
    oldest = value(later, "retkoop_queue_oldest_message_age_seconds", queue="documents")
    assert oldest is not None and oldest >= 1.5, oldest
    for service in ("adhesion", "payment", "documents"):  # every outbox is reported, drained
        assert value(during, "retkoop_outbox_pending", service=service) == 0
        assert value(during, "retkoop_outbox_oldest_pending_age_seconds", service=service) == 0
    assert value(during, "retkoop_workers_seen", queue="notify") >= 1

    # the national admin's page reads the same figures
    state = stack.call("get", "/api/adhesion/operations", staff)
    assert state.status_code == 200, state.text
    queues = {q["queue"]: q for q in state.json()["queues"]}
    assert queues["documents"]["messages"] == len(cooperatives)
    assert queues["documents"]["oldest_age_seconds"] >= 1.5
    assert {o["service"] for o in state.json()["outboxes"]} == {"adhesion", "payment", "documents", "notify", "ledger"}

    # … and falls once a worker takes it
    stack.start_worker("documents")
    wait_for(lambda: all(confirmations(sink.directory)[n] for n in cooperatives), timeout=120,
             what="every confirmation")
    quiet(stack)
    after = scrape(stack)
    assert value(after, "retkoop_queue_messages", queue="documents") == 0
    assert value(after, "retkoop_queue_oldest_message_age_seconds", queue="documents") is None

    # the counters of every process, added up: the web server's requests by route template …
    route = "/api/adhesion/adhesions/<number>/<year>/validate"
    validated = (total(after, "retkoop_http_requests_total", route=route, status="200")
                 - total(before, "retkoop_http_requests_total", route=route, status="200"))
    assert validated == len(cooperatives)
    assert total(after, "retkoop_http_request_duration_seconds_count", route=route) >= len(cooperatives)
    assert not any("0384" in str(labels) for _, labels in after)  # templates, never a cooperative number
    # … the pool processes' tasks by name and outcome, the documents drawn and the emails
    assert total(after, "retkoop_tasks_total", task="documents.on_adhesion_validated", outcome="success") >= 12
    assert total(after, "retkoop_task_duration_seconds_count", task="notify.on_documents_generated") >= 12
    assert total(after, "retkoop_documents_rendered_total", kind="attestation") >= 12
    assert total(after, "retkoop_documents_rendered_total", kind="certificate") >= 12
    assert value(after, "retkoop_emails", status="sent", lane="transactional") >= 12
    assert total(after, "retkoop_scrape_errors") == 0


def test_status_page_is_the_national_admins(stack):
    staff = stack.login("admin", "admin-password")
    created = stack.call("post", "/api/adhesion/staff", staff, json={
        "login": "agent.ops", "password": "agent-secret-1", "department": "38", "email": "agent@occe38.fr"})
    assert created.status_code == 201, created.text
    agent = stack.login("agent.ops", "agent-secret-1")
    assert stack.call("get", "/api/adhesion/operations", agent).status_code == 403
    assert stack.call("post", "/api/adhesion/operations/emails/1/resend", agent).status_code == 403
    assert stack.call("get", "/api/adhesion/operations").status_code == 401
    # notify's list of every department's failures is for the services only
    assert stack.call("get", "/api/notify/failed", staff).status_code == 403
