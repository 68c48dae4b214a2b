"""Benchmark of the audit log: 100,000 chained records (a year of a busy install: 20
departments, the bench's one holding 30 %), then a department's filtered listings through
the audit service's HTTP API, on PostgreSQL (or SQLite with ``--sqlite``).

    .venv/bin/python bench/audit.py [--records 100000] [--sqlite]

Prints: appending (records/s, through the chain's locked head), each listing's median
and 95th percentile over 30 calls (its first page of 100, newest first), the CSV export
of the department's September, and the walk of the whole chain by /verify."""
import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from services.audit import service as audit  # noqa: E402
from services.audit.app import create_app, prepare  # noqa: E402
from shared.auth import Principal, open_session  # noqa: E402
from shared.service import shutdown  # noqa: E402
from tests.support import fresh_postgres_database, test_settings  # noqa: E402

DEPARTMENT = "38"
OTHERS = [f"{n:02d}" for n in range(1, 20)]
ACTIONS = [("auth.login", 40), ("auth.login_failed", 6), ("auth.logout", 10), ("adhesion.saved", 12),
           ("adhesion.submitted", 6), ("payment.recorded", 10), ("adhesion.validated", 6),
           ("adhesion.correction_requested", 2), ("payment.reversed", 1), ("ledger.entry_written", 7)]
START = datetime(2025, 9, 1, 7, tzinfo=timezone.utc)


def records(count: int, rng: random.Random):
    names, weights = zip(*ACTIONS)
    for i in range(count):
        department = DEPARTMENT if rng.random() < 0.3 else rng.choice(OTHERS)
        cooperative = f"{department}{rng.randrange(900):04d}X00"
        action = rng.choices(names, weights)[0]
        staff = action.startswith(("payment.", "adhesion.validated", "adhesion.correction"))
        yield {"at": (START + timedelta(seconds=i * 315)).isoformat(), "service": action.split(".")[0],
               "actor": f"compta{department}-{rng.randrange(4)}" if staff else cooperative,
               "actor_kind": "staff" if staff else "school", "department": department, "action": action,
               "target": cooperative, "details": {"year": "2025-2026", "amount": f"{rng.randrange(5000, 90000) / 100:.2f}"},
               "address": f"192.0.2.{rng.randrange(1, 255)}", "request_id": f"{i:032x}"}


def seed(database, items) -> None:
    """The chain as the consumer's ``append`` writes it (same hashes), in bulk inserts: the
    bench measures the listings, not 100,000 transactions."""
    from sqlalchemy import insert, update

    from services.audit import domain
    from services.audit.models import AuditRecord, ChainHead

    previous, seq, rows = domain.GENESIS, 0, []
    with database.session() as session:
        for item in items:
            seq += 1
            digest = domain.chain_hash(previous, seq, item)
            rows.append({"seq": seq, "event_id": f"bench-{seq}", **item, "at": datetime.fromisoformat(item["at"]),
                         "details": json.dumps(item["details"], sort_keys=True, ensure_ascii=False),
                         "prev_hash": previous, "hash": digest})
            previous = digest
            if len(rows) == 5000:
                session.execute(insert(AuditRecord), rows)
                rows = []
        if rows:
            session.execute(insert(AuditRecord), rows)
        session.execute(update(ChainHead).where(ChainHead.id == 1).values(seq=seq, hash=previous))
    if database.is_postgresql:  # what autovacuum does after such a load: the planner's statistics
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE records")


def explained(database, principal, filters) -> str:
    """What the database itself spends on the listing's query, and the index it takes."""
    from sqlalchemy import select, tuple_

    from services.audit.models import AuditRecord

    query = audit._filtered(principal, filters)
    if filters.get("before"):  # the keyset, as list_records writes it
        with database.session() as session:
            cursor = session.execute(select(AuditRecord.at, AuditRecord.seq).where(
                AuditRecord.seq == filters["before"])).first()
        query = query.where(tuple_(AuditRecord.at, AuditRecord.seq) < tuple_(cursor.at, cursor.seq))
    query = query.order_by(AuditRecord.at.desc(), AuditRecord.seq.desc()).limit(101)
    compiled = query.compile(database.engine, compile_kwargs={"literal_binds": True})
    word = "EXPLAIN (ANALYZE, FORMAT JSON) " if database.is_postgresql else "EXPLAIN QUERY PLAN "
    with database.engine.connect() as conn:
        found = conn.exec_driver_sql(word + str(compiled)).all()
    if not database.is_postgresql:
        return "; ".join(str(row[-1]) for row in found)
    plan = found[0][0][0]
    indexes, stack = [], [plan["Plan"]]
    while stack:
        node = stack.pop()
        if node.get("Index Name"):
            indexes.append(node["Index Name"])
        stack.extend(node.get("Plans", []))
    return f"{plan['Execution Time']:.2f} ms, {', '.join(indexes) or 'no index'}"


def timed(client, headers, query, runs=30, accept="application/json"):
    spent = []
    for _ in range(runs):
        began = time.perf_counter()
        response = client.get("/api/audit/events", headers={**headers, "Accept": accept}, query_string=query)
        spent.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, response.data[:300]
    spent.sort()
    rows = len(response.json["items"]) if accept == "application/json" else response.data.count(b"\r\n") - 1
    return statistics.median(spent), spent[int(len(spent) * 0.95) - 1], rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--sqlite", action="store_true", help="the embedded store instead of PostgreSQL")
    args = parser.parse_args()
    rng = random.Random(22)
    with tempfile.TemporaryDirectory() as tmp, (nullcontext(None) if args.sqlite else fresh_postgres_database()) as url:
        settings = test_settings(Path(tmp), url)
        prepare(settings)
        app = create_app(settings)
        database = app.extensions["service"].database
        began = time.perf_counter()
        seed(database, records(args.records, rng))
        appended = time.perf_counter() - began
        print(f"store: {'SQLite' if args.sqlite else 'PostgreSQL'}; {args.records:,} records chained and written in "
              f"{appended:.1f} s ({args.records / appended:,.0f}/s, in bulk)")
        began = time.perf_counter()
        with database.session() as session:
            for i, item in enumerate(records(200, random.Random(7))):
                audit.append(session, f"appended-{i}", item)
        print(f"the consumer's append (head locked, one by one): {200 / (time.perf_counter() - began):,.0f}/s")
        with app.test_request_context():
            token, _ = open_session(app.extensions["auth_sessions"], Principal(f"compta{DEPARTMENT}", "staff", DEPARTMENT))
            national, _ = open_session(app.extensions["auth_sessions"],
                                       Principal("admin", "staff", DEPARTMENT, national=True))
        staff = {"Authorization": f"Bearer {token}"}
        client = app.test_client()
        cooperative = next(r["target"] for r in records(2000, random.Random(22)) if r["department"] == DEPARTMENT)
        cases = [
            ("the department, newest first", {}),
            ("one cooperative", {"target": cooperative}),
            ("one action (payment.recorded)", {"action": "payment.recorded"}),
            ("every payment action (payment.)", {"action": "payment."}),
            ("one staff member", {"actor": f"compta{DEPARTMENT}-1"}),
            ("September", {"from": "2025-09-01", "to": "2025-09-30"}),
            ("payments of September", {"action": "payment.recorded", "from": "2025-09-01", "to": "2025-09-30"}),
            ("page 50 (keyset)", {"before": args.records // 2}),
        ]
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"{'listing of department ' + DEPARTMENT:44} {'HTTP median':>12} {'p95':>8} {'use case':>11} {'rows':>6}  "
              "database: execution time, plan")
        ctx = app.extensions["service"]
        principal = Principal(f"compta{DEPARTMENT}", "staff", DEPARTMENT)
        for label, query in cases:
            median, p95, rows = timed(client, staff, query)
            filters = {("from_" if k == "from" else k): (date.fromisoformat(v) if k in ("from", "to") else v)
                       for k, v in query.items()}
            spent = []
            for _ in range(30):
                began = time.perf_counter()
                audit.list_records(ctx, principal, {"limit": 100, **filters})
                spent.append((time.perf_counter() - began) * 1000)
            plan = explained(database, principal, {"limit": 100, **filters})
            print(f"{label:44} {median:10.1f}ms {p95:7.1f}ms {statistics.median(spent):11.1f}ms {rows:6}  {plan}")
        median, p95, rows = timed(client, staff, {"from": "2025-09-01", "to": "2025-09-30"}, runs=5,
                                  accept="text/csv")
        print(f"{'CSV of the department September':44} {median:7.1f}ms {p95:7.1f}ms {rows:6}")
        began = time.perf_counter()
        answer = client.get("/api/audit/verify", headers={"Authorization": f"Bearer {national}"}).json
        print(f"/verify of the whole chain: {answer} in {time.perf_counter() - began:.1f} s")
        shutdown(app)


if __name__ == "__main__":
    main()
