"""Does the documents throughput grow with workers? M validations (``adhesion.validated``
events) waiting on one Redis broker, then N documents worker processes started as
separate processes (one pool process each, as on separate machines), for N = 1, 2, 3…:
PDFs per second until every document is stored, and the workers' CPU per validation.

    .venv/bin/python bench/workers.py [M] [--workers 1 2 3 4]

On PostgreSQL (a fresh database) and a private redis-server on a free port. With 2
cores the rate should grow from 1 to 2 workers and stay flat after: the cores are full.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

# The project root instead of bench/ (the script's folder): bench/http.py must not stand
# in for the standard library's http package.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import redis  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from contracts import adhesion as adhesion_events  # noqa: E402
from deploy.redis_server import RedisServer  # noqa: E402
from services.documents.app import create_app  # noqa: E402
from services.documents.models import Document  # noqa: E402
from shared.service import shutdown  # noqa: E402
from tests.support import Worker, env_for, fresh_postgres_database, prepared_app, test_settings, wait_for  # noqa: E402


def validated(number: str) -> dict:
    example = adhesion_events.VALIDATED.example
    return adhesion_events.VALIDATED.build({
        **example, "cooperative": {**example["cooperative"], "number": number},
    }).to_dict()


def tree_cpu(pid: int) -> float:
    import subprocess

    pids = [pid] + [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True,
                                                   text=True).stdout.split()]
    total = 0.0
    for one in pids:
        try:
            fields = Path(f"/proc/{one}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run(count: int, workers: int, tmp: Path, redis_url: str) -> tuple[float, float]:
    with fresh_postgres_database() as database_url:
        settings = test_settings(tmp / f"n{workers}", database_url, broker_url=redis_url)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        app = prepared_app(create_app, settings)
        try:
            redis.Redis.from_url(redis_url).flushdb()
            celery = app.extensions["celery"]
            for index in range(count):
                celery.send_task("documents.on_adhesion_validated", args=[validated(f"039{index:05d}W{workers}")],
                                 queue="documents")
            database = app.extensions["service"].database

            def generated() -> int:
                with database.session() as session:
                    return session.scalar(select(func.count()).select_from(Document)
                                          .where(Document.generated_at.is_not(None)))

            env = env_for(settings)
            pool = [Worker("documents", env) for _ in range(workers)]
            started = time.perf_counter()
            for worker in pool:
                worker.start()
            try:
                wait_for(lambda: generated() >= 2 * count, timeout=1200, interval=0.2, what="every document")
                elapsed = time.perf_counter() - started
                cpu = sum(tree_cpu(worker.process.pid) for worker in pool)
            finally:
                for worker in pool:
                    worker.stop()
        finally:
            shutdown(app)
    return 2 * count / elapsed, cpu * 1000 / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("m", nargs="?", type=int, default=200, help="validations waiting in the queue")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 3, 4])
    args = parser.parse_args()
    redis_server = RedisServer().start()
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for workers in args.workers:
                rate, cpu = run(args.m, workers, Path(tmp), redis_server.url)
                results.append((workers, rate, cpu))
                print(f"{workers} documents worker process(es): {rate:6.1f} PDFs/s, "
                      f"{cpu:5.0f} ms of worker CPU per validation (start-up included)", flush=True)
    finally:
        redis_server.close()
    print()
    base = results[0][1]
    for workers, rate, cpu in results:
        print(f"  {workers} worker(s)   {rate:6.1f} PDFs/s   ×{rate / base:4.2f}   {cpu:5.0f} ms CPU/validation")
    print(f"  ({os.cpu_count()} cores on this machine)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
