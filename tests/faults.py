"""What the fault tests and bench/faults.py share: many adhesions made ready to validate,
a staff client that validates as a person would (waits and sends again after a 503), and
the count of confirmation emails per school."""
import email.policy
import io
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from email.parser import BytesParser
from pathlib import Path

import requests
from pypdf import PdfReader

from tests.quiet import quiet
from tests.support import GUIDE, wait_for

YEAR = "2025-2026"


def numbers(count: int, prefix: str = "0383") -> list[str]:
    return [f"{prefix}{i:04d}F00" for i in range(count)]


def prepare(stack, staff: str, cooperatives: list[str], threads: int = 6) -> None:
    """Each cooperative submitted, paid and signed: ready to validate."""

    def one(number):
        created = stack.call("post", "/api/adhesion/cooperatives", staff, json={
            "number": number, "name": f"Coopérative Scolaire de l'École {number}", "town": "VIENNE",
            "email": f"ce.{number.lower()}@ac-grenoble.fr", "password": "ecole-secret"})
        assert created.status_code == 201, created.text
        school = stack.login(number, "ecole-secret")
        assert stack.call("put", f"/api/adhesion/adhesions/{number}/{YEAR}", school, json=GUIDE).ok
        assert stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/submit", school).ok
        wait_for(lambda: stack.call("get", f"/api/payment/dues/{number}/{YEAR}", school).ok, timeout=60, what="dues")
        paid = stack.call("post", "/api/payment/payments", staff, json={
            "cooperative": number, "year": YEAR, "amount": "439.25", "method": "cheque", "reference": "1",
            "received_on": "2025-09-12"})
        assert paid.status_code == 201, paid.text
        wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{number}/{YEAR}", staff).json()["checklist"][
            "payment_received"], timeout=60, what="payment in checklist")
        assert stack.call("patch", f"/api/adhesion/adhesions/{number}/{YEAR}/checklist", staff,
                          json={"engagement_signed": True}).ok

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, cooperatives))


class Validations:
    """Staff validating many adhesions at once. A 503 (or a dropped connection) is waited
    out and the same request sent again, as the pages ask a person to do; every answer
    is kept so a test can count the 500s and the 503s."""

    def __init__(self, stack, staff: str, patience: float = 120):
        self.stack = stack
        self.staff = staff
        self.patience = patience
        self.answers: list[tuple[str, int]] = []
        self.codes: dict[str, str] = {}
        self.started: dict[str, float] = {}
        self.done = 0
        self._lock = threading.Lock()

    def one(self, number: str) -> None:
        self.started[number] = time.time()
        deadline = time.monotonic() + self.patience
        while True:
            try:
                response = self.stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/validate", self.staff,
                                           json={})
                status = response.status_code
            except requests.RequestException:
                response, status = None, 0
            with self._lock:
                self.answers.append((number, status))
            if status == 200:
                with self._lock:
                    self.codes[number] = response.json()["registration_code"]
                    self.done += 1
                return
            if status == 503:
                assert response.headers.get("Retry-After"), response.headers
                assert response.json()["error"] == "unavailable", response.text
            elif status != 0:
                return  # a 500 or anything else: counted, never sent again
            if time.monotonic() > deadline:
                return
            time.sleep(0.5)

    def run(self, cooperatives: list[str], threads: int = 8) -> "Validations":
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(self.one, cooperatives))
        return self

    def statuses(self) -> Counter:
        return Counter(status for _, status in self.answers)


def confirmations(mailbox: Path) -> Counter:
    """Confirmation emails saved by the SMTP server, counted per cooperative number."""
    counts = Counter()
    for path in Path(mailbox).glob("*.eml"):
        head = path.read_text(errors="replace").split("\n\n", 1)[0]
        if "X-Retkoop-Kind: validation_confirmation" in head:
            to = next(line for line in head.splitlines() if line.startswith("To:"))
            counts[to.split("ce.", 1)[1].split("@", 1)[0].upper()] += 1
    return counts


def wait_for_confirmations(mailbox: Path, cooperatives: list[str], timeout: float, stack=None) -> Counter:
    """Wait until every cooperative has its confirmation (or the time is up), then until
    ``stack`` is quiet (tests/quiet.py: nothing in flight), so that a duplicate still on its
    way is counted too. Without a stack (bench/faults.py), a 2 s pause stands for that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        counts = confirmations(mailbox)
        if all(counts[n] for n in cooperatives):
            break
        time.sleep(0.5)
    if stack is None:
        time.sleep(2)
    else:
        quiet(stack, timeout=max(10.0, deadline - time.monotonic()))
    return confirmations(mailbox)


def confirmation_pdfs(mailbox: Path) -> dict[str, list[str]]:
    """The text of the PDFs attached to each confirmation, per cooperative number, read back with pypdf."""
    parser = BytesParser(policy=email.policy.default)
    found = {}
    for path in Path(mailbox).glob("*.eml"):
        message = parser.parsebytes(path.read_bytes())
        if message["X-Retkoop-Kind"] == "validation_confirmation":
            number = message["To"].split("ce.", 1)[1].split("@", 1)[0].upper()
            found[number] = [" ".join(" ".join(page.extract_text() for page in PdfReader(
                io.BytesIO(part.get_content())).pages).split()) for part in message.iter_attachments()]
    return found
