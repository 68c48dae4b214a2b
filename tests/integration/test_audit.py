"""The audit log (docs/audit.md): each change a person makes leaves exactly one record,
written in the change's own transaction (the service's outbox) and appended to the SHA-256
chain by the audit service's consumer; the database refuses to change a record, on
PostgreSQL for a non-superuser application role too; a superuser's edit is named by
/verify; staff see their department only. SQLite and PostgreSQL, real Redis and a real
Celery worker."""
import json
import uuid

import psycopg
import pytest
from sqlalchemy import select, text

from services.adhesion.app import create_app as adhesion_app
from services.adhesion.handlers import on_payment_received
from services.adhesion.models import OutboxEvent as AdhesionOutbox
from services.audit.app import create_app as audit_app
from services.audit.handlers import on_audit_recorded
from services.payment.app import create_app as payment_app
from services.payment.handlers import on_adhesion_submitted
from services.payment.models import OutboxEvent as PaymentOutbox
from shared.auth import Principal
from shared.service import shutdown
from tests.integration.test_departments import import_file, school_file
from tests.support import GUIDE, Worker, bearer_for, env_for, prepared_app, test_settings, wait_for

NUMBER = "0382296P00"
YEAR = "2025-2026"
ADDRESS = "192.0.2.7"
STAFF_69 = bearer_for(Principal("staff69", "staff", "69"))
STAFF_38 = bearer_for(Principal("compta38", "staff", "38"))


@pytest.fixture
def system(tmp_path, database_url, redis_url):
    settings = test_settings(tmp_path, database_url, broker_url=redis_url)
    apps = {name: prepared_app(factory, settings)
            for name, factory in (("adhesion", adhesion_app), ("payment", payment_app), ("audit", audit_app))}
    yield apps
    for app in apps.values():
        shutdown(app)


def call(app, method, path, headers=None, **kwargs):
    client = app.test_client()
    return getattr(client, method)(path, headers=headers or {}, environ_base={"REMOTE_ADDR": ADDRESS}, **kwargs)


def login(app, login_name, password):
    response = call(app, "post", "/api/auth/login", json={"login": login_name, "password": password})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def outbox(app, model, kind):
    with app.extensions["service"].database.session() as session:
        return [json.loads(row.payload) for row in session.scalars(
            select(model).where(model.type == kind).order_by(model.id))]


def deliver_audit(system) -> None:
    """Every audit.recorded of the producers, handed to the audit consumer (twice: a
    redelivery appends nothing)."""
    envelopes = outbox(system["adhesion"], AdhesionOutbox, "audit.recorded") + outbox(
        system["payment"], PaymentOutbox, "audit.recorded")
    with system["audit"].app_context():
        for envelope in envelopes + envelopes:
            on_audit_recorded.run(envelope)


def records(system, headers, **filters):
    response = call(system["audit"], "get", "/api/audit/events", headers, query_string={"limit": 500, **filters})
    assert response.status_code == 200, response.json
    return response.json["items"]


def one(items, action):
    found = [item for item in items if item["action"] == action]
    assert len(found) == 1, (action, found)
    return found[0]


def test_each_action_leaves_one_record_with_actor_target_and_address(system):
    adhesion, payment, audit = system["adhesion"], system["payment"], system["audit"]
    assert call(adhesion, "post", "/api/auth/login", json={"login": "admin", "password": "wrong"}).status_code == 401
    staff = login(adhesion, "admin", "admin-password")
    card = call(adhesion, "get", f"/api/adhesion/rates/{YEAR}", staff).json
    card = {k: v for k, v in card.items() if k not in ("department", "year")}
    assert call(adhesion, "put", f"/api/adhesion/rates/{YEAR}", staff, json={**card, "fee_per_student": "2.30"}).status_code == 200
    assert call(adhesion, "post", "/api/adhesion/cooperatives", staff, json={
        "number": NUMBER, "name": "École Jean Moulin", "town": "VIENNE", "email": "ce.0382296p@ac-grenoble.fr",
        "password": "ecole-secret"}).status_code == 201
    assert call(adhesion, "post", "/api/adhesion/cooperatives/import", staff, data=school_file(3),
                content_type="text/csv").status_code == 200
    school = login(adhesion, NUMBER, "ecole-secret")
    url = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    assert call(adhesion, "put", url, school, json=GUIDE).status_code == 200
    assert call(adhesion, "post", f"{url}/submit", school).status_code == 200
    assert call(adhesion, "post", f"{url}/request-correction", staff, json={"message": "Précisez."}).status_code == 200
    assert call(adhesion, "post", f"{url}/submit", school).status_code == 200
    with payment.app_context():
        for envelope in outbox(adhesion, AdhesionOutbox, "adhesion.submitted"):
            on_adhesion_submitted.run(envelope)
    paid = call(payment, "post", "/api/payment/payments", staff, json={
        "cooperative": NUMBER, "year": YEAR, "amount": "100.00", "method": "cheque", "reference": "1",
        "received_on": "2025-09-10"})
    assert paid.status_code == 201, paid.json
    reversed_ = call(payment, "post", f"/api/payment/payments/{paid.json['payment']['id']}/reverse", staff,
                     json={"reason": "Erreur de saisie"})
    assert reversed_.status_code == 201, reversed_.json
    total = call(payment, "get", f"/api/payment/dues/{NUMBER}/{YEAR}", staff).json["amount_due"]
    assert call(payment, "post", "/api/payment/payments", staff, json={
        "cooperative": NUMBER, "year": YEAR, "amount": total, "method": "transfer", "reference": "2",
        "received_on": "2025-09-11"}).status_code == 201
    with adhesion.app_context():
        for envelope in outbox(payment, PaymentOutbox, "payment.received"):
            on_payment_received.run(envelope)
    assert call(adhesion, "patch", f"{url}/checklist", staff, json={"engagement_signed": True}).status_code == 200
    assert call(adhesion, "post", f"{url}/validate", staff, json={}).status_code == 200
    assert call(adhesion, "post", "/api/auth/logout", school).status_code == 204
    deliver_audit(system)

    items = records(system, staff)
    assert one(items, "auth.login_failed")["actor"] == "admin"
    assert [i["actor"] for i in items if i["action"] == "auth.login"] == [NUMBER, "admin"]
    rates = one(items, "rates.changed")
    assert rates["target"] == f"tarifs:{YEAR}" and rates["details"]["fee_per_student"]["after"] == "2.30"
    imported = one(items, "cooperatives.imported")
    assert imported["details"]["created"] == 3 and imported["actor_kind"] == "national"
    correction = one(items, "adhesion.correction_requested")
    assert correction["details"]["status"] == {"before": "submitted", "after": "correction_requested"}
    recorded = [i for i in items if i["action"] == "payment.recorded"]
    assert [i["details"]["amount"] for i in reversed(recorded)] == ["100.00", total]
    reversal = one(items, "payment.reversed")
    assert reversal["details"]["amount"] == "-100.00" and reversal["details"]["paid"] == {"before": "100.00", "after": "0.00"}
    validated = one(items, "adhesion.validated")
    assert validated["details"]["registration_code"] == "26/0001 A"
    logout = one(items, "auth.logout")
    assert (logout["actor"], logout["actor_kind"]) == (NUMBER, "school")
    for item in items:
        assert item["address"] == ADDRESS, item
        assert len(item["request_id"]) == 32 and item["at"]
        text_ = json.dumps(item["details"])
        assert "ce.0382296p" not in text_ and "Jean Moulin" not in text_ and "secret" not in text_
    for item in (correction, validated, reversal, one(items, "payment.reversed")):
        assert (item["target"], item["actor"], item["department"]) == (NUMBER, "admin", "38")
    assert len({i["request_id"] for i in items}) == len(items)  # one request each
    assert len(items) == len({(i["action"], i["request_id"]) for i in items})
    # the cooperative's own filter, and the chain holds
    assert {i["target"] for i in records(system, staff, target=NUMBER)} == {NUMBER}
    assert call(audit, "get", "/api/audit/verify", staff).json == {"records": len(items), "ok": True, "first_bad": None}


def test_a_rolled_back_request_leaves_no_record(system):
    adhesion = system["adhesion"]
    staff = login(adhesion, "admin", "admin-password")
    assert import_file(adhesion.test_client(), staff, school_file(2), dry_run=True).status_code == 200
    bad = school_file(2) + b"not-a-number;x;y;z\r\n"
    assert import_file(adhesion.test_client(), staff, bad).status_code == 422
    deliver_audit(system)
    assert [i["action"] for i in records(system, staff)] == ["auth.login"]


def test_staff_see_their_department_and_the_national_admin_all(system):
    adhesion, audit = system["adhesion"], system["audit"]
    national = login(adhesion, "admin", "admin-password")
    deliver_audit(system)
    assert records(system, national) and records(system, STAFF_38)
    assert records(system, STAFF_69) == []
    assert call(audit, "get", "/api/audit/events", STAFF_69, query_string={"department": "38"}).status_code == 403
    assert call(audit, "get", "/api/audit/verify", STAFF_38).status_code == 403
    school = bearer_for(Principal(NUMBER, "school", "38", NUMBER))
    assert call(audit, "get", "/api/audit/events", school).status_code == 403
    response = audit.test_client().get("/api/audit/events", headers={**national, "Accept": "text/csv"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.data.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("N°;Date (UTC)") and "auth.login" in lines[1]


def test_the_database_refuses_changes_and_verify_names_an_edited_record(system, database_url):
    adhesion, audit = system["adhesion"], system["audit"]
    staff = login(adhesion, "admin", "admin-password")
    for _ in range(3):
        call(adhesion, "post", "/api/auth/login", json={"login": "admin", "password": "wrong"})
    deliver_audit(system)
    database = audit.extensions["service"].database
    for statement in ("UPDATE records SET actor = 'x' WHERE seq = 2", "DELETE FROM records WHERE seq = 2",
                      "DELETE FROM records"):
        with pytest.raises(Exception, match="append-only"):
            with database.session() as session:
                session.execute(text(statement))
    assert call(audit, "get", "/api/audit/verify", staff).json == {"records": 4, "ok": True, "first_bad": None}
    if database_url is None:
        return
    # PostgreSQL: an application role that is not the superuser (even granted every
    # privilege on the table) is refused UPDATE, DELETE and TRUNCATE by the triggers
    role = f"app_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT USAGE ON SCHEMA audit TO {role}")
        conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA audit TO {role}")
    app_url = database_url.replace("postgres@", f"{role}@")
    try:
        with psycopg.connect(app_url, autocommit=True, options="-csearch_path=audit") as conn:
            for statement in ("UPDATE records SET actor = 'x' WHERE seq = 2", "DELETE FROM records WHERE seq = 2",
                              "TRUNCATE records"):
                with pytest.raises(psycopg.Error, match="append-only"):
                    conn.execute(statement)
            assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 4
        # a superuser can switch the triggers off: the chain shows the edit
        with psycopg.connect(database_url, autocommit=True, options="-csearch_path=audit") as conn:
            conn.execute("SET session_replication_role = replica")
            conn.execute("UPDATE records SET address = '203.0.113.1' WHERE seq = 3")
        assert call(audit, "get", "/api/audit/verify", staff).json == {"records": 4, "ok": False, "first_bad": 3}
    finally:
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA audit FROM {role}")
            conn.execute(f"REVOKE USAGE ON SCHEMA audit FROM {role}")
            conn.execute(f"DROP ROLE {role}")


def test_a_real_worker_appends_what_the_relays_publish(tmp_path, pg_url, redis_url):
    settings = test_settings(tmp_path, pg_url, broker_url=redis_url)
    adhesion, audit = prepared_app(adhesion_app, settings), prepared_app(audit_app, settings)
    try:
        with Worker("audit", env_for(settings)):
            staff = login(adhesion, "admin", "admin-password")
            call(adhesion, "post", "/api/auth/login", json={"login": "admin", "password": "wrong"})

            def appended():
                return records({"audit": audit}, staff)
            items = wait_for(lambda: len(appended()) == 2 and appended(), timeout=30, what="the audit worker")
        assert [i["action"] for i in items] == ["auth.login_failed", "auth.login"]
        with audit.extensions["service"].database.session() as session:
            assert session.execute(text("SELECT count(*) FROM records")).scalar() == 2
    finally:
        shutdown(adhesion)
        shutdown(audit)


def test_retention_removes_old_sign_in_records_and_the_chain_still_checks(system):
    from datetime import date, datetime, timedelta, timezone

    from contracts import adhesion as adhesion_events
    from services.audit import service as audit_service
    from services.audit.handlers import on_retention_due

    audit = system["audit"]
    old = (datetime.now(timezone.utc) - timedelta(days=500)).isoformat()

    def record(action, at, department="38"):
        return {"at": at, "service": "adhesion", "actor": "admin", "actor_kind": "staff", "department": department,
                "action": action, "target": NUMBER, "details": {}, "address": ADDRESS, "request_id": "r" * 32}
    database = audit.extensions["service"].database
    with database.session() as session:
        for i, (action, at, department) in enumerate([
                ("auth.login", old, "38"), ("payment.recorded", old, "38"), ("auth.login_failed", old, "69"),
                ("auth.login", old, "38"), ("auth.login", datetime.now(timezone.utc).isoformat(), "38")]):
            audit_service.append(session, f"event-{i}", record(action, at, department))
    envelope = adhesion_events.RETENTION_DUE.build({"department": "38", "signin_months": 12, "email_months": 13,
                                                    "accounting_years": 10, "day": date.today()}).to_dict()
    with audit.app_context():
        assert on_retention_due.run(envelope) is True
        assert on_retention_due.run(envelope) is False  # once per event
    national = bearer_for(Principal("admin", "staff", "38", national=True))
    left = records(system, national)
    assert [(i["seq"], i["action"]) for i in reversed(left)] == [
        (2, "payment.recorded"), (3, "auth.login_failed"), (5, "auth.login"), (6, "retention.applied")]
    applied = left[0]
    assert (applied["actor"], applied["actor_kind"], applied["details"]["removed_sign_in_records"]) == (
        "système", "system", 2)
    assert call(audit, "get", "/api/audit/verify", national).json == {"records": 4, "ok": True, "first_bad": None}
    # a recent sign-in record cannot go, even with a tombstone written for it (PostgreSQL: six months at least;
    # SQLite: only retention's own tombstones exist, and none was written for it)
    with pytest.raises(Exception, match="append-only"):
        with database.session() as session:
            session.execute(text("DELETE FROM records WHERE seq = 2"))


def test_appends_at_once_never_fork_the_chain(system):
    import threading

    from contracts.audit import RECORDED
    from services.audit import service as audit_service

    audit = system["audit"]
    ctx = audit.extensions["service"]
    events = [RECORDED.load(RECORDED.build({**RECORDED.example, "target": f"03800{i:02d}X00"}).to_dict())
              for i in range(40)]
    errors = []

    def append(chunk):
        try:
            for event in chunk:
                audit_service.record_event(ctx, event)
                audit_service.record_event(ctx, event)  # a duplicate delivered at once appends nothing
        except Exception as exc:  # reported below: a thread's failure must fail the test
            errors.append(exc)
    threads = [threading.Thread(target=append, args=(events[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    national = bearer_for(Principal("admin", "staff", "38", national=True))
    assert call(audit, "get", "/api/audit/verify", national).json == {"records": 40, "ok": True, "first_bad": None}
    with ctx.database.session() as session:
        assert session.execute(text("SELECT min(seq), max(seq), count(DISTINCT event_id) FROM records")).one() == (1, 40, 40)


def test_the_daily_run_sends_each_departments_periods_and_is_the_systems_action(system):
    from datetime import datetime, timezone

    from services.adhesion.campaign import local_day
    from services.adhesion.handlers import apply_retention

    adhesion = system["adhesion"]
    staff = login(adhesion, "admin", "admin-password")
    assert call(adhesion, "put", "/api/adhesion/departments/38", staff, json={"retention_signin_months": 3}).status_code == 422
    changed = call(adhesion, "put", "/api/adhesion/departments/38", staff, json={"retention_signin_months": 6})
    assert changed.status_code == 200 and changed.json["retention_signin_months"] == 6
    with adhesion.app_context():
        assert apply_retention.run() >= 1
    due = outbox(adhesion, AdhesionOutbox, "department.retention_due")
    assert {"department": "38", "signin_months": 6, "email_months": 13, "accounting_years": 10,
            "day": local_day(datetime.now(timezone.utc)).isoformat()}.items() <= {k: v for k, v in due[0]["data"].items()}.items()
    deliver_audit(system)
    started = one(records(system, staff), "retention.started")
    assert (started["actor"], started["actor_kind"], started["address"]) == ("système", "system", "")
    assert one(records(system, staff), "department.changed")["details"] == {"fields": ["retention_signin_months"]}


def test_pages_follow_one_another_without_gap_or_repeat(system):
    adhesion, audit = system["adhesion"], system["audit"]
    staff = login(adhesion, "admin", "admin-password")
    for _ in range(4):
        call(adhesion, "post", "/api/auth/login", json={"login": "admin", "password": "wrong"})
    deliver_audit(system)
    everything = [item["seq"] for item in records(system, staff)]
    assert len(everything) == 5
    seen, before = [], None
    while True:
        query = {"limit": 2, **({"before": before} if before else {})}
        page = call(audit, "get", "/api/audit/events", staff, query_string=query).json
        seen += [item["seq"] for item in page["items"]]
        before = page["next"]
        if before is None:
            break
    assert seen == everything


@pytest.fixture
def year_end_system(tmp_path, database_url, redis_url):
    from services.ledger.app import create_app as ledger_app

    settings = test_settings(tmp_path, database_url, broker_url=redis_url)
    apps = {name: prepared_app(factory, settings) for name, factory in (
        ("adhesion", adhesion_app), ("payment", payment_app), ("ledger", ledger_app), ("audit", audit_app))}
    yield apps
    for app in apps.values():
        shutdown(app)


def deliver_every_audit(system) -> None:
    """The audit.recorded of every producer's outbox, handed to the audit consumer (twice)."""
    envelopes = []
    for app in system.values():
        relay = app.extensions["service"].relay
        if relay is not None:
            envelopes += outbox(app, relay.model, "audit.recorded")
    with system["audit"].app_context():
        for envelope in envelopes + envelopes:
            on_audit_recorded.run(envelope)


def test_the_years_end_sepa_and_a_move_leave_one_record_each(year_end_system):
    """Issues 20, 21 and 25's steps made by people: closing, the CRF received, a mandate
    activated, a batch exported (downloaded twice), a cooperative moved between departments."""
    from services.ledger.handlers import on_adhesion_validated
    from tests.integration import test_ledger_year_end as year_end
    from tests.integration import test_sepa as sepa

    system = year_end_system
    adhesion, payment, ledger = system["adhesion"], system["payment"], system["ledger"]
    national = login(adhesion, "admin", "admin-password")
    assert call(adhesion, "post", "/api/adhesion/departments", national, json={
        "number": "69", "name": "OCCE du Rhône", "insurer": "MAE – MAIF", "contract": ""}).status_code == 201
    assert call(adhesion, "post", "/api/adhesion/cooperatives", national, json={
        "number": NUMBER, "name": "École Jean Moulin", "town": "VIENNE", "email": "ce.0382296p@ac-grenoble.fr",
        "password": "ecole-secret"}).status_code == 201
    moved = call(adhesion, "patch", f"/api/adhesion/cooperatives/{NUMBER}", national, json={"department": "69"})
    assert moved.status_code == 200, moved.json

    # a small book closed, with its quitus and statement, submitted and received
    filed = "0380001A00"
    with ledger.app_context():
        on_adhesion_validated.run(year_end.validated(number=filed))
    books, school = ledger.test_client(), bearer_for(Principal(filed, "school", "38", filed))
    book = f"/api/ledger/books/{filed}/{YEAR}"
    year_end.post_entry(books, school, book, **year_end.income("Kermesse", "100.00", "70600008", "2026-06-20"))
    year_end.post_entry(books, school, book, **year_end.expense("Livres", "40.00", "60220008", "2026-05-02"))
    for piece in ("R01", "D01"):
        assert books.post(f"{book}/entries/{piece}/pointage", headers=school, json={"on": "2026-06-25"}).status_code == 200
    assert books.put(f"{book}/cash-count", headers=school, json={"date": "2026-08-31", "counted": {}}).status_code == 200
    assert books.post(f"{book}/close", headers=school, json={"statement_balance": "60.00"}).status_code == 200
    assert books.put(f"{book}/crf/quitus", headers=school, json={
        "mandataire": {"name": "Aurélien Vasseur", "date": "2026-09-05"},
        "verifiers": [{"name": "Gwendoline Marchetti", "quality": "parent", "date": "2026-09-05"},
                      {"name": "Théophile Ravanel", "quality": "autre", "date": "2026-09-05"}]}).status_code == 200
    assert books.put(f"{book}/crf/statement", headers=school, data=year_end.PNG).status_code == 200
    assert books.post(f"{book}/crf/submit", headers=school).status_code == 200
    assert books.post(f"{book}/crf/receive", headers=STAFF_38).status_code == 200
    assert books.put("/api/ledger/settings", headers=STAFF_38, json={"crf_deadline": "10-15"}).status_code == 200

    client = payment.test_client()
    sepa.creditor_and_dates(client)
    with payment.app_context():
        on_adhesion_submitted.run(sepa.submitted(sepa.A, "100.00"))
    rum = sepa.active_mandate(client, sepa.A)
    sepa.export(client, sepa.FIRST)
    [batch] = sepa.call(client, "get", "/api/payment/sepa/batches").json["items"]
    assert sepa.call(client, "get", f"/api/payment/sepa/batches/{batch['id']}/pain008.xml").status_code == 200
    deliver_every_audit(system)

    items = records(system, national)
    move = one(items, "cooperative.moved")
    assert (move["actor"], move["actor_kind"], move["target"], move["department"]) == ("admin", "national", NUMBER, "69")
    assert move["details"] == {"department": {"before": "38", "after": "69"}}
    assert not [i for i in items if i["action"] == "cooperative.changed"]  # the move is its own record

    closed = one(items, "ledger.closed")
    assert (closed["actor"], closed["actor_kind"], closed["target"], closed["department"]) == (
        filed, "school", filed, "38")
    assert closed["details"] == {"year": YEAR, "statement_balance": "60.00", "bank": "60.00", "cash": "0.00",
                                 "result": "60.00"}
    received = one(items, "ledger.crf_received")
    assert (received["actor"], received["actor_kind"], received["target"], received["service"]) == (
        "compta38", "staff", filed, "ledger")
    assert received["details"] == {"year": YEAR, "status": {"before": "submitted", "after": "received"}}
    for action in ("ledger.cash_counted", "ledger.quitus_set", "ledger.statement_attached", "ledger.crf_submitted"):
        assert one(items, action)["target"] == filed
    assert [i["details"]["piece"] for i in items if i["action"] == "ledger.entry_pointed"] == ["D01", "R01"]
    assert one(items, "ledger.settings_changed")["details"] == {
        "crf_deadline": {"before": "09-30", "after": "10-15"}}

    activated = one(items, "sepa.mandate_activated")
    assert (activated["actor"], activated["target"], activated["department"], activated["details"]["rum"]) == (
        "admin", sepa.A, "38", rum)
    exported = one(items, "sepa.batch_exported")  # the second download changes nothing: no record
    assert (exported["actor"], exported["target"], exported["department"]) == (
        "admin", f"lot:{batch['message_id']}", "38")
    assert exported["details"]["count"] == 1 and exported["details"]["total"] == "100.00"
    for action in ("sepa.creditor_set", "sepa.dates_set", "sepa.mandate_created", "sepa.batch_built"):
        assert one(items, action)["actor"] == "admin"
    # no names, mailboxes or accounts in the details
    everything = json.dumps([i["details"] for i in items], ensure_ascii=False)
    for secret in (sepa.IBAN_1, sepa.CREDITOR["iban"], f"Coopérative {sepa.A}", "Jean Moulin", "ce.0382296p",
                   "Vasseur", "Marchetti", "Ravanel"):
        assert secret not in everything, secret
    assert call(system["audit"], "get", "/api/audit/verify", national).json["ok"] is True
