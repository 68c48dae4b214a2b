"""The three faults of issue 12 in one burst, repeated: N adhesions validated at once
while a documents worker is SIGKILLed (at 30 % of the validations answered), PostgreSQL
restarted with `pg_ctl restart -m fast` (45 %) and Redis killed and started again (60 %).

    .venv/bin/python bench/faults.py [--runs 10] [-n 150] [--redis-persistence]

Everything is private to the run: a PostgreSQL cluster (initdb, a free port), a Redis on
a free port (by default without persistence, so its restart loses every queued message,
the worst case; --redis-persistence: appendonly, as compose's), the web server, one
worker per service (two documents processes) and an SMTP server. The staff client sends a
validation again after a 503, as a person would. Prints per run: answers 500 and 503,
lost and doubled confirmations, seconds from the first validation to the last email.
"""
import argparse
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

# the project root instead of bench/ (the script's folder), where http.py would stand in for
# the standard library's http package
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import psycopg  # noqa: E402
import redis  # noqa: E402

from deploy.redis_server import RedisServer, free_port  # noqa: E402
from deploy.smtp_sink import MailSink  # noqa: E402
from deploy.stack import Stack  # noqa: E402
from tests.faults import Validations, numbers, prepare, wait_for_confirmations  # noqa: E402
from tests.pg_cluster import PostgresCluster  # noqa: E402
from tests.support import wait_for  # noqa: E402


def one_run(run: int, n: int, postgres: PostgresCluster, redis_server: RedisServer, tmp: Path,
            kill: str = "worker", wait: float = 300) -> dict:
    name = f"faults_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(redis_server.url).flushall()
    sink = MailSink(tmp / f"mailbox-{run}", port=free_port())
    sink.start()
    stack = Stack(tmp / f"data-{run}", postgres.url.rsplit("/", 1)[0] + f"/{name}", redis_server.url, sink.port)
    try:
        stack.start()
        stack.workers["documents"].stop()
        stack.start_worker("documents", concurrency=2)
        stack.supervise()  # as make run's supervisor: a worker stuck after the Redis restart is replaced
        staff = stack.login("admin", "admin-password")
        cooperatives = numbers(n, prefix=f"{run % 10}38")
        prepare(stack, staff, cooperatives)
        validations = Validations(stack, staff, patience=300)
        faults = []

        def at(share, fault, what):
            def run():
                wait_for(lambda: validations.done >= share * n, timeout=300, interval=0.005, what=f"{share:.0%}")
                faults.append((what, validations.done))
                fault()
            return threading.Thread(target=run, daemon=True)

        def kill_documents_worker():
            if kill == "child":  # one pool process: its main process forks another
                os.kill(stack.workers["documents"].children()[0], signal.SIGKILL)
                return
            stack.workers["documents"].kill()
            stack.start_worker("documents", concurrency=2)

        def restart_redis():
            redis_server.stop()
            time.sleep(0.5)
            redis_server.start()

        injectors = [at(0.30, kill_documents_worker, "worker SIGKILL"), at(0.45, postgres.restart, "PostgreSQL restart"),
                     at(0.60, restart_redis, "Redis restart")]
        started = time.time()
        for injector in injectors:  # each its own thread: a slow fault does not delay the next
            injector.start()
        validations.run(cooperatives)
        for injector in injectors:
            injector.join(60)
        counts = wait_for_confirmations(sink.directory, cooperatives, timeout=wait)
        arrivals = [p.stat().st_mtime for p in Path(sink.directory).glob("*.eml")]
        statuses = validations.statuses()
        return {
            "validated": validations.done,
            "500": statuses[500],
            "503": statuses[503],
            "lost": sum(1 for c in cooperatives if not counts[c]),
            "doubled": sum(1 for c in cooperatives if counts[c] > 1),
            "seconds": (max(arrivals) - started) if arrivals else float("nan"),
            "faults": faults,
            "replaced": stack.replaced,
        }
    finally:
        stack.stop()
        sink.stop()
        with psycopg.connect(postgres.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("-n", type=int, default=150, help="validations per burst")
    parser.add_argument("--redis-persistence", action="store_true", help="appendonly Redis, as in compose")
    parser.add_argument("--kill", choices=("worker", "child"), default="worker",
                        help="SIGKILL the whole documents worker, or one of its two pool processes")
    parser.add_argument("--wait", type=float, default=300,
                        help="seconds to wait for the last confirmation after the burst: later counts as lost")
    args = parser.parse_args()
    postgres = PostgresCluster().init().start()
    redis_server = RedisServer(appendonly=args.redis_persistence).start()
    results = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for run in range(args.runs):
                result = one_run(run, args.n, postgres, redis_server, Path(tmp), args.kill, args.wait)
                results.append(result)
                print(f"run {run + 1:2}: validated {result['validated']}/{args.n}  500: {result['500']}  "
                      f"503: {result['503']}  lost: {result['lost']}  doubled: {result['doubled']}  "
                      f"last email after {result['seconds']:.1f} s  "
                      f"(faults at {', '.join(f'{what} {done}' for what, done in result['faults'])})", flush=True)
    finally:
        redis_server.close()
        postgres.close()
    print()
    redis_kind = "appendonly" if args.redis_persistence else "without persistence"
    print(f"{len(results)} runs of {args.n} validations, Redis {redis_kind}: lost {sum(r['lost'] for r in results)}, "
          f"doubled {sum(r['doubled'] for r in results)}, answers 500 {sum(r['500'] for r in results)}, 503 {sum(r['503'] for r in results)}, "
          f"last email after {min(r['seconds'] for r in results):.1f}–{max(r['seconds'] for r in results):.1f} s")
    return 0 if all(r["lost"] == 0 and r["doubled"] == 0 and r["500"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
