"""Benchmark of the validation pipeline: validate → PDFs → email, on the production shape
(PostgreSQL, Redis, real Celery workers, a real SMTP server), against the raw xhtml2pdf
rendering of the same documents in a plain single-process loop.

    .venv/bin/python bench/pipeline.py [N] [--paced M] [--documents-workers C]

Prints: documents per second through the whole pipeline (burst of N validations), the
same templates rendered in one process, their ratio, and validation-to-email latency
p50/p95 (validate call → email accepted by the SMTP server), under the burst and paced
(one validation at a time). Needs PostgreSQL and Redis on 127.0.0.1 (as `make test`).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

# The project root instead of bench/ (the script's folder): bench/http.py must not stand
# in for the standard library's http package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from deploy.redis_server import RedisServer  # noqa: E402
from deploy.smtp_sink import MailSink  # noqa: E402
from deploy.stack import Stack, free_port  # noqa: E402
from services.documents import domain as documents_domain  # noqa: E402
from services.documents.service import FRANCE, renderer  # noqa: E402
from tests.faults import prepare  # noqa: E402
from tests.support import fresh_postgres_database, wait_for  # noqa: E402

KINDS = (documents_domain.ATTESTATION, documents_domain.CERTIFICATE)

YEAR = "2025-2026"


def arrival_times(sink: MailSink) -> dict[str, float]:
    """Confirmation emails by recipient number, with the time the SMTP server saved them."""
    arrived = {}
    for path in sorted(Path(sink.directory).glob("*.eml")):
        head = path.read_text(errors="replace").split("\n\n", 1)[0]
        if "X-Retkoop-Kind: validation_confirmation" in head:
            to = next(line for line in head.splitlines() if line.startswith("To:"))
            number = to.split("ce.", 1)[1].split("@", 1)[0].upper()
            arrived[number] = path.stat().st_mtime
    return arrived


def validate_all(stack: Stack, staff: str, numbers: list[str], sink: MailSink, concurrent: bool):
    started = {}

    def validate(number):
        started[number] = time.time()
        response = stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/validate", staff, json={})
        assert response.status_code == 200, response.text

    if concurrent:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(validate, numbers))
        arrived = wait_for(lambda: (a := arrival_times(sink)) and all(n in a for n in numbers) and a,
                           timeout=600, interval=0.2, what="every confirmation email")
    else:
        arrived = {}
        for number in numbers:
            validate(number)
            arrived = wait_for(lambda: (a := arrival_times(sink)) and number in a and a, timeout=120,
                               interval=0.02, what="the confirmation email")
    latencies = [arrived[n] - started[n] for n in numbers]
    elapsed = max(arrived[n] for n in numbers) - min(started.values())
    return elapsed, latencies


def raw_render_rate(count: int) -> float:
    """The same two documents per validation, rendered in a plain loop in this process."""
    data = {
        "cooperative": {"number": "0382296P00", "name": "Coopérative Scolaire de l'École Jean Moulin",
                        "town": "VIENNE", "email": "x@y.fr", "department": "38"},
        "department": {"code": "38", "name": "OCCE de l'Isère", "insurer": "MAE – MAIF", "insurer_contract": ""},
        "year": YEAR, "revision": 3, "registration_code": "26/0001 A", "version": 1,
        "validated_at": datetime.now(timezone.utc).isoformat(),
        "totals": {"teachers": 10, "students": 165, "cooperators": 175},
        "amounts": {"membership": "395.50", "insurance": "43.75", "goods": "0.00", "instruments": "0.00",
                    "total": "439.25"},
        "amount_paid": "439.25", "insurance": True, "goods_value": "0.00", "instruments_value": "0.00",
    }
    day = documents_domain.issued_on(datetime.fromisoformat(data["validated_at"]), FRANCE)
    for kind in KINDS:  # warm up imports and template compilation, as a worker is warm
        renderer(kind)(documents_domain.render_input(data, kind, "X-0", "http://127.0.0.1/verify/x", day))
    started = time.perf_counter()
    for i in range(count):
        for kind in KINDS:
            renderer(kind)(documents_domain.render_input(data, kind, f"X-{i}", f"http://127.0.0.1/verify/{i}", day))
    return count * len(KINDS) / (time.perf_counter() - started)


def cpu_seconds(pids) -> float:
    """User + system CPU of these processes and their children (alive ones)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def process_groups(stack: Stack) -> dict[str, list[int]]:
    def tree(pid):
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
        return [pid] + [p for child in out for p in tree(int(child))]

    groups = {"web": tree(stack.web.pid)}
    groups.update({f"worker {name}": tree(w.process.pid) for name, w in stack.workers.items()})
    out = subprocess.run(["pgrep", "-f", "redis-server"], capture_output=True, text=True).stdout.split()
    groups["redis"] = [int(p) for p in out]
    groups["smtp server + bench"] = [os.getpid()]
    return groups


def machine_cpu_seconds() -> float:
    """Busy CPU time of the whole machine (PostgreSQL's short-lived backends included)."""
    user, nice, system, idle, iowait, irq, softirq, steal = map(int, open("/proc/stat").readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", nargs="?", type=int, default=100, help="validations in the burst")
    parser.add_argument("--paced", type=int, default=10, help="validations one at a time, for idle latency")
    parser.add_argument("--documents-workers", type=int, default=2, help="documents worker processes")
    args = parser.parse_args()

    redis_server = RedisServer().start()  # its own broker: the machine's Redis is never flushed
    with tempfile.TemporaryDirectory() as tmp, fresh_postgres_database() as database_url:
        sink = MailSink(Path(tmp) / "mailbox", port=free_port())
        sink.start()
        stack = Stack(Path(tmp) / "data", database_url, redis_server.url, sink.port)
        try:
            stack.start()
            stack.workers["documents"].stop()
            stack.start_worker("documents", concurrency=args.documents_workers)
            staff = stack.login("admin", "admin-password")
            burst = [f"0381{i:04d}B00" for i in range(args.n)]
            paced = [f"0382{i:04d}P00" for i in range(args.paced)]
            print(f"preparing {args.n + args.paced} adhesions (submitted, paid, signed)…", flush=True)
            prepare(stack, staff, burst + paced, threads=4)

            groups = process_groups(stack)
            cpu_before = {name: cpu_seconds(pids) for name, pids in groups.items()}
            machine_before = machine_cpu_seconds()
            elapsed, burst_latency = validate_all(stack, staff, burst, sink, concurrent=True)
            cpu_burst = {name: cpu_seconds(groups[name]) - before for name, before in cpu_before.items()}
            machine_burst = machine_cpu_seconds() - machine_before
            documents = 2 * args.n
            pipeline_rate = documents / elapsed
            _, paced_latency = validate_all(stack, staff, paced, sink, concurrent=False)
        finally:
            stack.stop()
            sink.stop()
            redis_server.close()
    raw_rate = raw_render_rate(args.n)

    print()
    print(f"validations in the burst            {args.n} ({documents} PDFs, {args.n} emails)")
    print(f"documents worker processes          {args.documents_workers}")
    print(f"pipeline, validate → email          {pipeline_rate:7.1f} documents/s  ({elapsed:.2f} s)")
    print(f"raw xhtml2pdf, one process          {raw_rate:7.1f} documents/s")
    print(f"ratio pipeline / raw                {pipeline_rate / raw_rate:7.2f}×")
    print(f"latency under the burst  p50 / p95  {statistics.median(burst_latency):6.2f} s / "
          f"{percentile(burst_latency, 0.95):6.2f} s")
    print(f"CPU during the burst, per validation: {machine_burst * 1000 / args.n:.1f} ms for the whole machine "
          f"({os.cpu_count()} cores), of which:")
    for name, seconds in sorted(cpu_burst.items(), key=lambda item: -item[1]):
        print(f"  {name:<32} {seconds * 1000 / args.n:7.1f} ms")
    print(f"latency, one at a time   p50 / p95  {statistics.median(paced_latency):6.2f} s / "
          f"{percentile(paced_latency, 0.95):6.2f} s  ({args.paced} validations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
