"""50 schools saving their adhesion at the same time, through the gateway (every service
behind one address under gunicorn, as `make run` and the test stack serve it), beside a
bare gunicorn endpoint (a WSGI function answering a fixed JSON) run the same way on the
same machine in the same run: latency p50/p99 and requests per second of each.

    .venv/bin/python bench/http.py [--clients 50] [--seconds 20]

The load is 50 threads with one keep-alive `requests` session each, looping for a fixed
time (a closed loop: each client sends its next request when the answer arrives). The
load generator shares the 2 cores with the servers, the same for both targets.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# The project root instead of bench/ (the script's folder): bench/http.py must not stand
# in for the standard library's http package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import requests  # noqa: E402

from bench.pipeline import percentile  # noqa: E402
from bench.september import school_token  # noqa: E402
from deploy.redis_server import RedisServer, free_port  # noqa: E402
from deploy.smtp_sink import MailSink  # noqa: E402
from deploy.stack import Stack  # noqa: E402
from tests.support import GUIDE, ROOT, fresh_postgres_database, wait_for  # noqa: E402

YEAR = "2025-2026"
GUNICORN = ["-w", "2", "--threads", "4"]  # as make run and compose serve each web process


def bare_app(environ, start_response):
    """The ceiling: no routing, no validation, no database."""
    body = b'{"status": "ok"}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def load(url_of, method: str, clients: int, seconds: float, body_of=None, headers_of=None) -> tuple[list, int]:
    """Closed-loop load for ``seconds``: latencies (s) of answered requests, and failures."""
    latencies, failures = [], [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client(index):
        session = requests.Session()
        mine = []
        start.wait()
        while time.monotonic() < deadline[0]:
            began = time.perf_counter()
            try:
                response = session.request(method, url_of(index), json=body_of(index) if body_of else None,
                                           headers=headers_of(index) if headers_of else None, timeout=30)
                ok = response.status_code == 200
            except requests.RequestException:
                ok = False
            if ok:
                mine.append(time.perf_counter() - began)
            else:
                with lock:
                    failures[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    deadline[0] = time.monotonic() + seconds
    start.wait()
    for thread in threads:
        thread.join()
    return latencies, failures[0]


def report(name: str, latencies: list, failures: int, seconds: float) -> float:
    rate = len(latencies) / seconds
    print(f"{name:<34} {rate:8.1f} req/s   p50 {statistics.median(latencies) * 1000:6.1f} ms   "
          f"p99 {percentile(latencies, 0.99) * 1000:7.1f} ms   ({len(latencies)} answered, {failures} failed)")
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()

    redis_server = RedisServer().start()
    try:
        with tempfile.TemporaryDirectory() as tmp, fresh_postgres_database() as database_url, \
                MailSink(Path(tmp) / "mail", port=free_port()) as sink:
            stack = Stack(Path(tmp) / "data", database_url, redis_server.url, sink.port, web_processes=2)
            try:
                stack.start()
                staff = stack.login("admin", "admin-password")
                numbers = [f"0385{i:04d}H00" for i in range(args.clients)]
                for number in numbers:
                    created = stack.call("post", "/api/adhesion/cooperatives", staff, json={
                        "number": number, "name": f"École {number}", "town": "VIENNE",
                        "email": f"ce.{number.lower()}@ac-grenoble.fr", "password": "ecole-secret"})
                    assert created.status_code == 201, created.text
                tokens = {i: {"Authorization": "Bearer " + school_token(stack, n)} for i, n in enumerate(numbers)}
                # each school saves its own adhesion, a class count changing so each save is a real write
                def body(i):
                    classes = [{**GUIDE["classes"][0], "student_count": 100 + int(time.monotonic() * 1000) % 100}]
                    return {**GUIDE, "classes": classes}

                def url(i):
                    return f"{stack.base}/api/adhesion/adhesions/{numbers[i]}/{YEAR}"

                assert requests.put(url(0), json=body(0), headers=tokens[0], timeout=10).status_code == 200
                print(f"{args.clients} schools saving their adhesion for {args.seconds:.0f} s…", flush=True)
                saved, saved_failures = load(url, "put", args.clients, args.seconds, body, tokens.get)
            finally:
                stack.stop()
    finally:
        redis_server.close()

    port = free_port()
    bare = subprocess.Popen([sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", *GUNICORN,
                             "bench.http:bare_app"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def up():
            try:
                return requests.get(f"http://127.0.0.1:{port}/", timeout=1).ok
            except requests.RequestException:
                return False

        wait_for(up, timeout=30, what="the bare endpoint")
        print(f"{args.clients} clients on the bare endpoint for {args.seconds:.0f} s…", flush=True)
        plain, plain_failures = load(lambda i: f"http://127.0.0.1:{port}/", "get", args.clients, args.seconds)
    finally:
        bare.terminate()
        bare.wait(10)

    print()
    gateway_rate = report("PUT adhesion through the gateway", saved, saved_failures, args.seconds)
    bare_rate = report("bare gunicorn endpoint", plain, plain_failures, args.seconds)
    print(f"gateway / bare throughput          {gateway_rate / bare_rate:8.2f}×  (aim ≥ 0.5; p99 aim < 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
