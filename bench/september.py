"""A department's September peak on the production shape (PostgreSQL + Redis, real
Celery workers, a real SMTP server): N cooperatives submitted, paid and signed, then all
validated in one burst while a reminder round to R schools is being sent, with a
documents worker SIGKILLed and Redis restarted during the burst.

    .venv/bin/python bench/september.py [N] [--round R] [--kill worker|child] [--smtp-delay S]

Defaults: N=1500, R=600 (issue 12). A quick run: `bench/september.py 150 --round 60`.
Prints: time from the first validation to the last confirmation, confirmation latency
p50/p95 (validate call → email accepted by the SMTP server), emails per second, lost
and doubled (confirmations and reminders), and the machine's CPU per validation.
Owns its servers: a private redis-server (persistent, as compose's) on a free port and a
fresh PostgreSQL database on 127.0.0.1:5432 (dropped at the end).
"""
import argparse
import asyncio
import email.policy
import os
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from email.parser import BytesParser
from pathlib import Path

# The project root instead of bench/ (the script's folder): bench/http.py must not stand
# in for the standard library's http package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import psycopg  # noqa: E402
from aiosmtpd.controller import Controller  # noqa: E402

from bench.pipeline import machine_cpu_seconds, percentile  # noqa: E402
from deploy.redis_server import RedisServer, free_port  # noqa: E402
from deploy.stack import Stack  # noqa: E402
from shared.auth import Principal, issue_token  # noqa: E402
from shared.sessions import SessionStore  # noqa: E402
from tests.support import GUIDE, fresh_postgres_database, pg_admin_url, wait_for  # noqa: E402

YEAR = "2025-2026"


class Relay:
    """An SMTP server keeping, per message, its arrival time, kind and Message-ID (in memory:
    2,000 emails are read back every fraction of a second)."""

    def __init__(self, delay: float):
        self.delay = delay
        self.arrivals: list[tuple[float, str, str]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        headers = BytesParser(policy=email.policy.default).parsebytes(envelope.original_content, headersonly=True)
        attachments = envelope.original_content.count(b"Content-Type: application/pdf")
        with self.lock:
            self.arrivals.append((time.time(), headers["X-Retkoop-Kind"], headers["Message-ID"], attachments))
        return "250 OK"

    def of_kind(self, kind: str) -> list[tuple[float, str, int]]:
        with self.lock:
            return [(at, message_id, pdfs) for at, found, message_id, pdfs in self.arrivals if found == kind]


class CpuMeter(threading.Thread):
    """CPU used by this run's own processes, by group: the web server, each worker (a
    restarted one included), this Redis, this database's PostgreSQL backends, the SMTP
    server and bench. Sampled every half second from /proc, so processes that are killed
    or that end (PostgreSQL backends) still count; other users of the machine do not."""

    def __init__(self, stack: Stack, redis_server: RedisServer, database_url: str):
        super().__init__(daemon=True)
        self.stack, self.redis_server = stack, redis_server
        self.database = database_url.rsplit("/", 1)[1]
        self.seen: dict[tuple[str, int], list[float]] = {}
        self.stopped = threading.Event()

    def groups(self) -> dict[str, list[int]]:
        groups = {"web": _tree(self.stack.web.pid), "redis": [self.redis_server.process.pid],
                  "smtp server + bench": [os.getpid()]}
        for name, worker in list(self.stack.workers.items()):
            groups[f"worker {name}"] = _tree(worker.process.pid)
        with psycopg.connect(pg_admin_url(), autocommit=True) as conn:
            groups["postgresql (this database)"] = [row[0] for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s", (self.database,))]
        return groups

    def sample(self) -> None:
        for name, pids in self.groups().items():
            for pid in pids:
                used = _cpu(pid)
                if used is not None:
                    self.seen.setdefault((name, pid), [used, used])[1] = used

    def run(self) -> None:
        while not self.stopped.wait(0.5):
            try:
                self.sample()
            except Exception:  # a process gone between listing and reading, a busy database
                pass

    def totals(self) -> dict[str, float]:
        self.stopped.set()
        self.join(5)
        totals = Counter()
        for (name, _), (first, last) in self.seen.items():
            totals[name] += last - first
        return dict(totals)


def _tree(pid: int) -> list[int]:
    import subprocess

    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid] + [p for child in out for p in _tree(int(child))]


def _cpu(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def confirmation_id(number: str) -> str:
    return f"<validation-{number}-{YEAR}-v1@retkoop.local>"


_stores: dict[str, SessionStore] = {}


def school_token(stack: Stack, number: str) -> str:
    """A school's token with its session opened in the platform's store, as a login does,
    without paying scrypt per login (the bench shares the stack's SECRET_KEY)."""
    url = stack.settings.database_url_for("auth")
    store = _stores.get(url) or _stores.setdefault(url, SessionStore(url))
    session_id = store.open(number, timedelta(hours=4))
    return issue_token(stack.settings.secret_key, Principal(number, "school", "38", number, session_id))


def retried(call, attempts: int = 30):
    """A client that retries what a fault made fail (a 5xx, a refused connection): as staff would."""
    for attempt in range(attempts):
        try:
            response = call()
            if response.status_code < 500:
                return response
        except Exception:  # connection refused or reset during a restart
            if attempt == attempts - 1:
                raise
        time.sleep(min(2.0, 0.1 * 2 ** attempt))
    return response


def prepare(stack: Stack, staff: str, burst: list[str], round_: list[str], threads: int) -> None:
    """The burst's cooperatives submitted, paid and signed; the round's never started."""
    def create(number):
        response = retried(lambda: stack.call("post", "/api/adhesion/cooperatives", staff, json={
            "number": number, "name": f"Coopérative Scolaire de l'École {number}", "town": "VIENNE",
            "email": f"ce.{number.lower()}@ac-grenoble.fr", "password": "ecole-secret"}))
        assert response.status_code == 201, response.text

    def submit(number):
        school = school_token(stack, number)
        assert retried(lambda: stack.call("put", f"/api/adhesion/adhesions/{number}/{YEAR}", school, json=GUIDE)).ok
        assert retried(lambda: stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/submit", school)).ok

    def pay(number):
        wait_for(lambda: stack.call("get", f"/api/payment/dues/{number}/{YEAR}", staff).ok, timeout=300, what="dues")
        paid = retried(lambda: stack.call("post", "/api/payment/payments", staff, json={
            "cooperative": number, "year": YEAR, "amount": "439.25", "method": "cheque", "reference": "1",
            "received_on": "2025-09-12"}))
        assert paid.status_code == 201, paid.text

    def sign(number):
        wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{number}/{YEAR}", staff).json()["checklist"][
            "payment_received"], timeout=300, what="payment in the checklist")
        assert retried(lambda: stack.call("patch", f"/api/adhesion/adhesions/{number}/{YEAR}/checklist", staff,
                                          json={"engagement_signed": True})).ok

    with ThreadPoolExecutor(threads) as pool:
        for label, step, numbers in (("created", create, burst + round_), ("submitted", submit, burst),
                                     ("paid", pay, burst), ("signed", sign, burst)):
            started = time.monotonic()
            list(pool.map(step, numbers))
            print(f"  {len(numbers)} {label} in {time.monotonic() - started:.0f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=1500, help="cooperatives validated in the burst")
    parser.add_argument("--round", type=int, default=600, help="schools in the reminder round")
    parser.add_argument("--kill", choices=("worker", "child", "none"), default="worker",
                        help="SIGKILL the whole documents worker (main process and pool, as a crash of its "
                             "container) or one pool process, at 30%% of the burst")
    parser.add_argument("--no-redis-restart", action="store_true", help="skip the Redis restart at 60%%")
    parser.add_argument("--documents-workers", type=int, default=2, help="documents worker processes")
    parser.add_argument("--smtp-delay", type=float, default=0.0, help="seconds the SMTP server takes per message")
    parser.add_argument("--bulk-rate", type=float, default=5.0, help="BULK_MAIL_RATE (reminders/s per department)")
    parser.add_argument("--visibility-timeout", type=int, default=60, help="BROKER_VISIBILITY_TIMEOUT (s)")
    parser.add_argument("--threads", type=int, default=8, help="concurrent staff clients validating")
    parser.add_argument("--wait", type=float, default=1800, help="seconds to wait for the last confirmation")
    args = parser.parse_args()

    redis_server = RedisServer(appendonly=True).start()
    relay = Relay(args.smtp_delay)
    controller = Controller(relay, hostname="127.0.0.1", port=free_port(), server_hostname="september")
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as tmp, fresh_postgres_database() as database_url:
            stack = Stack(Path(tmp) / "data", database_url, redis_server.url, controller.port,
                          BULK_MAIL_RATE=args.bulk_rate, BROKER_VISIBILITY_TIMEOUT=args.visibility_timeout)
            try:
                return run(args, stack, relay, redis_server, database_url)
            finally:
                stack.stop()
    finally:
        controller.stop()
        redis_server.close()


def run(args, stack: Stack, relay: Relay, redis_server: RedisServer, database_url: str) -> int:
    stack.start()
    stack.workers["documents"].stop()
    stack.start_worker("documents", concurrency=args.documents_workers)
    staff = stack.login("admin", "admin-password")
    burst = [f"038{i:05d}B0" for i in range(args.n)]
    round_ = [f"038{i:05d}R0" for i in range(args.round)]
    print(f"preparing {args.n} adhesions (submitted, paid, signed) and {args.round} schools not renewed…",
          flush=True)
    prepare(stack, staff, burst, round_, args.threads)

    meter = CpuMeter(stack, redis_server, database_url)
    meter.sample()
    meter.start()
    machine_before = machine_cpu_seconds()
    reminders = stack.call("post", f"/api/adhesion/reminders/{YEAR}", staff)
    assert reminders.status_code == 200 and reminders.json()["count"] == args.round, reminders.text
    print(f"reminder round of {args.round} sent; validating {args.n} at once "
          f"({args.threads} staff clients)…", flush=True)

    started, answers, faults = {}, Counter(), []
    done = Counter()
    lock = threading.Lock()

    def validate(number):
        started[number] = time.time()
        response = retried(lambda: stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/validate", staff,
                                              json={}))
        with lock:
            answers[response.status_code] += 1
            done["n"] += 1
        assert response.status_code == 200, response.text

    def inject_faults():
        wait_for(lambda: done["n"] >= 0.3 * args.n, timeout=600, interval=0.05, what="30 % of the burst")
        if args.kill == "worker":
            stack.workers["documents"].kill()
            faults.append(f"documents worker (main + pool) SIGKILLed at {done['n']}/{args.n}")
            stack.start_worker("documents", concurrency=args.documents_workers)
        elif args.kill == "child":
            victim = stack.workers["documents"].children()[0]
            os.kill(victim, 9)
            faults.append(f"a documents pool process SIGKILLed at {done['n']}/{args.n}")
        if not args.no_redis_restart:
            wait_for(lambda: done["n"] >= 0.6 * args.n, timeout=600, interval=0.05, what="60 % of the burst")
            down = time.monotonic()
            redis_server.stop(graceful=True)
            redis_server.start()
            faults.append(f"Redis restarted at {done['n']}/{args.n} (down {time.monotonic() - down:.1f} s)")

    injector = threading.Thread(target=inject_faults, daemon=True)
    injector.start()
    with ThreadPoolExecutor(args.threads) as pool:
        list(pool.map(validate, burst))
    burst_sent = time.time()
    wanted = {confirmation_id(number): number for number in burst}
    try:
        wait_for(lambda: len({m for _, m, _ in relay.of_kind("validation_confirmation")} & set(wanted)) == len(wanted),
                 timeout=args.wait, interval=0.2, what="every confirmation")
    except AssertionError as exc:
        print(f"!! {exc}")
    machine_burst = machine_cpu_seconds() - machine_before
    cpu_burst = meter.totals()
    try:
        wait_for(lambda: len(relay.of_kind("renewal_reminder")) >= args.round, timeout=args.round / args.bulk_rate * 3
                 + 120 if args.bulk_rate > 0 else 600, interval=0.5, what="the whole reminder round")
    except AssertionError as exc:
        print(f"!! {exc}")
    time.sleep(5)  # a duplicate would arrive right behind
    injector.join(1)

    confirmations = relay.of_kind("validation_confirmation")
    first = {}
    for at, message_id, pdfs in confirmations:
        first.setdefault(message_id, (at, pdfs))
    counts = Counter(message_id for _, message_id, _ in confirmations)
    reminder_counts = Counter(message_id for _, message_id, _ in relay.of_kind("renewal_reminder"))
    lost = [number for message_id, number in wanted.items() if message_id not in first]
    doubled = [message_id for message_id, count in counts.items() if count > 1]
    without_both = [message_id for message_id, (_, pdfs) in first.items() if pdfs != 2]
    latencies = [first[confirmation_id(n)][0] - started[n] for n in burst if confirmation_id(n) in first]
    t0 = min(started.values())
    last = max(at for at, _ in first.values()) if first else float("nan")
    window = [at for at, _, _, _ in relay.arrivals if t0 <= at <= last]

    print()
    for fault in faults:
        print(f"fault: {fault}")
    print(f"cooperatives validated in one burst     {args.n}  (answers: {dict(answers)})")
    print(f"reminder round during the burst         {args.round} schools, BULK_MAIL_RATE {args.bulk_rate}/s")
    print(f"validate calls took                     {burst_sent - t0:6.1f} s ({args.n / (burst_sent - t0):.1f}/s)")
    print(f"first validation → last confirmation    {last - t0:6.1f} s  ({args.n / (last - t0):.1f} validations/s)")
    if latencies:
        print(f"confirmation latency p50 / p95 / max     {statistics.median(latencies):6.1f} s / "
              f"{percentile(latencies, 0.95):6.1f} s / {max(latencies):6.1f} s")
    print(f"emails accepted per second (all kinds)   {len(window) / (last - t0):6.1f} "
          f"(of which reminders {sum(1 for at, _, _ in relay.of_kind('renewal_reminder') if at <= last)})")
    print(f"confirmations lost / doubled            {len(lost)} / {len(doubled)}; without both PDFs: "
          f"{len(without_both)}  (lost: not arrived {args.wait:.0f} s after the burst)")
    print(f"reminders sent / doubled                {len(reminder_counts)} of {args.round} / "
          f"{sum(1 for c in reminder_counts.values() if c > 1)}")
    confirmed = max(1, len(first))
    print(f"CPU per confirmed validation, this run's processes {sum(cpu_burst.values()) * 1000 / confirmed:6.1f} ms "
          f"(the round's {args.round} reminders and the faults included; whole machine "
          f"{machine_burst * 1000 / confirmed:.0f} ms, other users of the {os.cpu_count()} cores included):")
    for name, seconds in sorted(cpu_burst.items(), key=lambda item: -item[1]):
        print(f"  {name:<36} {seconds * 1000 / confirmed:7.1f} ms")
    if lost:
        print(f"lost: {lost[:20]}")
    return 1 if lost or doubled or without_both else 0


if __name__ == "__main__":
    sys.exit(main())
