"""The restore drill (issue 23), on the embedded SQLite stores and on PostgreSQL: a running
system under writes (schools saving, staff validating and recording payments), `make
backup` taken in the middle, `make restore` into a fresh data folder (and database), the
system started on it. Everything committed before the backup started is there and matches
the manifest; events in flight at the backup are delivered after the restore; the next
validation takes the code d'enregistrement after the last one the archive holds."""
import hashlib
import json
import subprocess
import sys
import tarfile
import threading
import time
from contextlib import contextmanager, nullcontext

import redis
from sqlalchemy import text

from deploy import restore
from deploy.smtp_sink import MailSink
from deploy.stack import Stack, free_port
from services.adhesion.domain import registration_code
from shared.db import Database
from tests.support import GUIDE, ROOT, fresh_postgres_database, school_email, wait_for

YEAR = "2025-2026"
# Few of each, and uninsured (one PDF per validation): the drill's cost is the systems it
# starts, the renderings and this machine's two cores, not the number of rows.
VALIDATED_FIRST, READY, DRAFTS = 2, 2, 1
ADHESION = {**GUIDE, "insurance": False}


@contextmanager
def running_system(data_dir, database_url, broker_url, sink, stopping: list | None = None):
    """The whole system on these stores; ``stopping``: stopped in a thread added to it (the
    test goes on with the next system while this one's workers finish their warm shutdown)."""
    redis.Redis.from_url(broker_url).flushdb()
    stack = Stack(data_dir, database_url, broker_url, sink.port)

    def stop():
        stack.stop()
        redis.Redis.from_url(broker_url).flushdb()

    try:
        yield stack.start()
    except BaseException:
        print(stack.logs())
        raise
    finally:
        if stopping is None:
            stop()
        else:
            stopping.append(threading.Thread(target=stop))
            stopping[-1].start()


def rows(stack, service, sql):
    database = Database(service, stack.settings.database_url_for(service))
    try:
        with database.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        database.dispose()


def state(stack) -> dict:
    """What the stores hold, read straight from them."""
    documents = stack.settings.data_dir / "documents"
    return {
        "adhesions": {r[0]: r[1:] for r in rows(stack, "adhesion",
                                                "SELECT cooperative, status, registration_code, revision FROM adhesions")},
        "payments": set(rows(stack, "payment", "SELECT id, cooperative, amount FROM payments")),
        "documents": {number: hashlib.sha256((documents / key).read_bytes()).hexdigest()
                      for number, key in rows(stack, "documents",
                                              "SELECT number, storage_key FROM documents WHERE generated_at IS NOT NULL")},
        "emails": {key: status for key, status in rows(stack, "notify", "SELECT key, status FROM messages")},
        "last_number": rows(stack, "adhesion", f"SELECT max(last_number) FROM registration_sequences "
                                               f"WHERE year = '{YEAR}'")[0][0] or 0,
    }


def counts(stack, service, table) -> int:
    return rows(stack, service, f"SELECT count(*) FROM {table}")[0][0]


def new_cooperative(stack, staff, number, submit=True):
    created = stack.call("post", "/api/adhesion/cooperatives", staff, json={
        "number": number, "name": f"Coopérative {number}", "town": "VIENNE", "email": school_email(number),
        "password": "ecole-secret"})
    assert created.status_code == 201, created.text
    school = stack.login(number, "ecole-secret")
    assert stack.call("put", f"/api/adhesion/adhesions/{number}/{YEAR}", school, json=ADHESION).status_code == 200
    if submit:
        assert stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/submit", school).status_code == 200
    return school


def paid_and_signed(stack, staff, school, number):
    dues = wait_for(lambda: stack.call("get", f"/api/payment/dues/{number}/{YEAR}", school), timeout=30,
                    what=f"the dues of {number}")
    assert stack.call("post", "/api/payment/payments", staff, json={
        "cooperative": number, "year": YEAR, "amount": dues.json()["amount_due"], "method": "cheque", "reference": "1234567",
        "received_on": "2025-09-12"}).status_code == 201
    wait_for(lambda: stack.call("get", f"/api/adhesion/adhesions/{number}/{YEAR}", staff).json()["checklist"][
        "payment_received"], timeout=30, what=f"payment.received of {number}")
    assert stack.call("patch", f"/api/adhesion/adhesions/{number}/{YEAR}/checklist", staff,
                      json={"engagement_signed": True}).status_code == 200


def validate(stack, staff, number) -> str:
    response = stack.call("post", f"/api/adhesion/adhesions/{number}/{YEAR}/validate", staff, json={})
    assert response.status_code == 200, response.text
    return response.json()["registration_code"]


def in_parallel(function, items):
    errors = []

    def run(item):
        try:
            function(item)
        except BaseException as exc:  # reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(item,)) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


class Writers:
    """Schools saving their drafts, staff validating the ready adhesions one by one and
    recording payments, over HTTP, until stopped."""

    def __init__(self, stack, staff, ready, drafts, paying):
        self.stack, self.staff, self.ready, self.drafts, self.paying = stack, staff, list(ready), drafts, paying
        self.stop = threading.Event()
        self.done = {"saves": 0, "validations": 0, "payments": 0}
        self.errors = []
        self.threads = [threading.Thread(target=self._guard, args=(work,))
                        for work in (self._save, self._validate, self._pay)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(30)

    def _guard(self, work):
        try:
            work()
        except BaseException as exc:  # the test reads them
            self.errors.append(exc)

    def _save(self):
        pupils = 100
        while not self.stop.is_set():
            for number, school in self.drafts.items():
                pupils += 1
                body = {**ADHESION, "classes": [{**ADHESION["classes"][0], "student_count": pupils}]}
                response = self.stack.call("put", f"/api/adhesion/adhesions/{number}/{YEAR}", school, json=body)
                assert response.status_code == 200, response.text
                self.done["saves"] += 1
                self.stop.wait(0.1)  # a school typing, not a load test: the drill's time matters

    def _validate(self):
        while self.ready and not self.stop.is_set():
            validate(self.stack, self.staff, self.ready.pop(0))
            self.done["validations"] += 1
            time.sleep(0.2)

    def _pay(self):
        number = self.paying  # a cooperative whose dues are known
        while not self.stop.is_set():
            response = self.stack.call("post", "/api/payment/payments", self.staff, json={
                "cooperative": number, "year": YEAR, "amount": "1.00", "method": "cash", "reference": "",
                "received_on": "2025-09-15"})
            assert response.status_code == 201, response.text
            self.done["payments"] += 1
            self.stop.wait(0.3)


def run_module(module, env, *args):
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_backup_under_writes_restores_everything_and_the_next_code_on_sqlite(tmp_path, redis_server, monkeypatch,
                                                                              capsys):
    drill("sqlite", tmp_path, redis_server, monkeypatch, capsys)


def drill(kind, tmp_path, redis_server, monkeypatch, capsys):
    """The drill on one kind of store (the PostgreSQL one is its own file, so `make test`'s
    workers run both at once)."""
    base = redis_server.url.rsplit("/", 1)[0]
    clock, laps, stopping = time.monotonic(), [], []

    def lap(what):  # where the drill's time goes, printed at the end
        laps.append(f"{what} {time.monotonic() - clock:.1f} s")
    sink = MailSink(tmp_path / "mailbox", port=free_port())
    sink.start()
    databases = (fresh_postgres_database, fresh_postgres_database) if kind == "postgresql" else (nullcontext,) * 2
    try:
        with databases[0]() as source_url, databases[1]() as target_url:
            with running_system(tmp_path / "data", source_url, f"{base}/1", sink, stopping) as stack:
                lap("started")
                staff = stack.login("admin", "admin-password")
                # validated first, validated while the backup runs, kept for after the restore, drafts
                numbers = [f"0389{i:03d}D00" for i in range(VALIDATED_FIRST + READY + 1 + DRAFTS)]
                kept = numbers[VALIDATED_FIRST + READY]
                schools = {}

                def prepare(number):
                    draft = number in numbers[-DRAFTS:]
                    schools[number] = new_cooperative(stack, staff, number, submit=not draft)
                    if not draft:
                        paid_and_signed(stack, staff, schools[number], number)

                in_parallel(prepare, numbers)
                lap("prepared")
                first = [validate(stack, staff, number) for number in numbers[:VALIDATED_FIRST]]
                wait_for(lambda: len(state(stack)["documents"]) == VALIDATED_FIRST
                         and sum(s == "sent" for s in state(stack)["emails"].values()) >= VALIDATED_FIRST,
                         timeout=60, what="the first documents and confirmations")
                lap("first validated")
                ready = numbers[VALIDATED_FIRST:VALIDATED_FIRST + READY]
                drafts = {n: schools[n] for n in numbers[-DRAFTS:]}
                env = {**stack.env, "BACKUP_DIR": str(tmp_path / "backups")}
                # the documents worker is down: the validations made from now on wait in the
                # broker (published, not consumed), which no archive holds
                stack.workers["documents"].stop()
                with Writers(stack, staff, ready, drafts, numbers[0]) as writers:
                    wait_for(lambda: writers.done["validations"] >= 1 and writers.done["saves"] >= 2, timeout=30,
                             what="writes under way")
                    before = state(stack)  # every write committed before the backup starts
                    started = time.monotonic()
                    made = run_module("deploy.backup", env)
                    took = time.monotonic() - started
                    writes_during = dict(writers.done)
                lap("backup")
                assert not writers.errors, writers.errors
                assert made.returncode == 0, made.stderr
                archive = made.stdout.strip().splitlines()[-1]  # the path is the last line
                assert archive.startswith(str(tmp_path / "backups")) and archive.endswith(".tar.gz")
                laps.append(f"(the backup command {took:.1f} s, writes meanwhile {writes_during})")
                # a restore never lands on a system's data
                monkeypatch.setenv("DATA_DIR", str(stack.settings.data_dir))
                assert restore.main([archive]) == 1  # refused before anything is read: in this process
                assert "n'est pas vide" in capsys.readouterr().err
                if kind == "postgresql":  # nor on a database in use, even from an empty folder
                    refused = run_module("deploy.restore", {**stack.env, "DATA_DIR": str(tmp_path / "empty")}, archive)
                    assert refused.returncode == 1 and "base de données n'est pas vide" in refused.stderr, refused.stderr
                    assert not list((tmp_path / "empty").iterdir())  # left as it was found

            lap("old stopped")
            with tarfile.open(archive) as tar:
                manifest = json.loads(tar.extractfile("manifest.json").read())
            restored_env = {k: v for k, v in stack.env.items() if k != "DATABASE_URL"}
            restored_env.update(DATA_DIR=str(tmp_path / "restored"), **({"DATABASE_URL": target_url} if target_url else {}))
            done = run_module("deploy.restore", restored_env, archive)
            assert done.returncode == 0, done.stderr
            assert "make run" in done.stdout

            lap("restored")
            # compared with the manifest before anything runs on them (the restarted workers
            # soon add the in-flight validations' documents): every table of every store
            stores = Stack(tmp_path / "restored", target_url, f"{base}/2", sink.port)  # read, never started
            for service in ("adhesion", "payment", "documents", "notify", "ledger"):
                for table, count in manifest["stores"][service]["tables"].items():
                    if table != "alembic_version":
                        assert counts(stores, service, table) == count, (service, table)
            with running_system(tmp_path / "restored", target_url, f"{base}/2", sink) as restored:
                lap("restarted")
                after = state(restored)
                assert manifest["stores"]["adhesion"]["tables"]["adhesions"] == len(after["adhesions"])
                # everything committed before the backup started is there
                for number, (status, code, revision) in before["adhesions"].items():
                    got_status, got_code, got_revision = after["adhesions"][number]
                    assert got_revision >= revision, number
                    if code:
                        assert (got_status, got_code) == (status, code), number
                assert before["payments"] <= after["payments"]
                assert before["documents"].items() <= after["documents"].items()  # same bytes
                for key, status in before["emails"].items():
                    assert after["emails"][key] in (status, "sent"), key
                assert after["last_number"] >= before["last_number"] >= VALIDATED_FIRST + 1
                assert set(first) <= {code for _, code, _ in after["adhesions"].values()}
                # the events in flight at the backup are delivered: each validation in the
                # archive gets its attestation and its confirmation
                validated = [n for n, (status, _, _) in after["adhesions"].items() if status == "validated"]
                assert len(validated) > manifest["stores"]["documents"]["tables"]["documents"] == VALIDATED_FIRST  # in flight
                wait_for(lambda: len(state(restored)["documents"]) >= len(validated)
                         and sum(s == "sent" for s in state(restored)["emails"].values()) >= len(validated),
                         timeout=60, what="the documents and emails of every validation in the archive")
                lap("in-flight delivered")
                one = validated[0]
                pdf = restored.call("get", f"/api/documents/{one}/{YEAR}/attestation.pdf",
                                    restored.login("admin", "admin-password"))
                assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
                # the next validation takes the code after the last one the archive holds
                assert after["adhesions"][kept][0] == "submitted"  # paid and signed before the backup
                issued = {code for _, code, _ in after["adhesions"].values() if code}
                code = validate(restored, restored.login("admin", "admin-password"), kept)
                assert code not in issued
                assert code == registration_code(YEAR, after["last_number"] + 1)
            lap("next code")
    finally:
        for thread in stopping:
            thread.join(60)
        sink.stop()
        with capsys.disabled():
            print(f"restore drill ({kind}):", ", ".join(laps))
