"""Personal data (docs/audit.md#personal-data): the export gathers what every service
holds about a cooperative's people over HTTP (through a real gateway server) — its SEPA
mandate's debtor, IBAN and address and its CRF's quitus names among them; the erasure
reaches every service through ``cooperative.personal_data_erased`` and leaves none of the
names, mailboxes, addresses and IBANs in any table of any service, keeps amounts, the code
d'enregistrement, the RUM and the quitus's dates, and stops the login. The six apps' outboxes are pumped to their
subscribers in-process; the mail goes to a real SMTP server; PostgreSQL and SQLite."""
import importlib
import json
import threading

import pytest
from sqlalchemy import MetaData, select, text
from werkzeug.serving import make_server

from deploy.gateway import Gateway
from deploy.redis_server import free_port
from deploy.smtp_sink import MailSink
from shared.events import queue_of, service_names, subscribers
from shared.service import shutdown
from tests.support import GUIDE, prepared_app, test_settings

NUMBER = "0389999Z00"
YEAR = "2025-2026"
NAME = "Coopérative de l'école Séraphine Lumière"
EMAIL = "ce.0389999z@ac-grenoble.fr"
TEACHER = "Ophélie Tartempion"
DRAWER = "Barnabé Quincampoix"
DEBTOR = "Mélusine Pradier"
STREET = "17 impasse des Glycines"
IBAN, IBAN_2 = "FR7630001007941234567890185", "FR7610107001011234567890129"
MANDATAIRE, VERIFIERS = "Aurélien Vasseur", ("Gwendoline Marchetti", "Théophile Ravanel")
SECRETS = (NAME, EMAIL, TEACHER, DRAWER, DEBTOR, STREET, IBAN, IBAN_2, MANDATAIRE, *VERIFIERS)
CREDITOR = {"name": "OCCE de l'Isère", "ics": "FR72ZZZ123456", "iban": "FR7630006000011234567890189",
            "address": {"street": "12 rue de l'École", "postcode": "38000", "town": "Grenoble"}}


@pytest.fixture
def system(tmp_path, database_url, redis_url):
    port, smtp_port = free_port(), free_port()
    sink = MailSink(tmp_path / "mail", port=smtp_port)
    sink.start()
    settings = test_settings(tmp_path, database_url, broker_url=redis_url, internal_api_url=f"http://127.0.0.1:{port}",
                             smtp_host="127.0.0.1", smtp_port=smtp_port)
    apps = {name: prepared_app(importlib.import_module(f"services.{name}.app").create_app, settings)
            for name in service_names()}
    server = make_server("127.0.0.1", port, Gateway({**apps, "web": apps["adhesion"]}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield apps
    finally:
        server.shutdown()
        for app in apps.values():
            shutdown(app)
        sink.stop()


def pump(apps) -> None:
    """Deliver every outbox row to its subscribers' tasks, in their own apps, until no new
    row appears (the broker's job, done in-process; a redelivery changes nothing)."""
    done: set[str] = set()
    while True:
        pending = []
        for app in apps.values():
            relay = app.extensions["service"].relay
            if relay is None:
                continue
            with app.extensions["service"].database.session() as session:
                pending += [json.loads(row.payload) for row in session.scalars(select(relay.model).order_by(relay.model.id))
                            if row.event_id not in done]
        if not pending:
            return
        for envelope in pending:
            done.add(envelope["event_id"])
            for task_name in subscribers().get(envelope["type"], ()):
                app = apps[queue_of(task_name).split("_")[0]]
                with app.app_context():
                    app.extensions["celery"].tasks[task_name].run(envelope)


def call(app, method, path, headers=None, **kwargs):
    return getattr(app.test_client(), method)(path, headers=headers or {}, **kwargs)


def login(app, name, password):
    response = call(app, "post", "/api/auth/login", json={"login": name, "password": password})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['token']}"}


def everything_stored(apps) -> str:
    """Every row of every table of every service's store, as text."""
    found = []
    for name, app in apps.items():
        database = app.extensions["service"].database
        metadata = MetaData()
        metadata.reflect(database.engine)
        with database.engine.connect() as conn:
            for table in metadata.sorted_tables:
                for row in conn.execute(select(table)):
                    found.append(f"{name}.{table.name}: " + " | ".join(
                        value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                        for value in row))
    return "\n".join(found)


def forms(secret: str) -> tuple[str, ...]:
    """A value as a table may hold it: as typed, JSON-escaped, lower-cased (a mailbox)."""
    return (secret, json.dumps(secret)[1:-1], secret.lower())


def test_export_gathers_every_service_and_erasure_leaves_no_name(system):
    adhesion, payment = system["adhesion"], system["payment"]
    staff = login(adhesion, "admin", "admin-password")
    assert call(adhesion, "post", "/api/adhesion/cooperatives", staff, json={
        "number": NUMBER, "name": NAME, "town": "VIENNE", "email": EMAIL, "password": "ecole-secret"}).status_code == 201
    school = login(adhesion, NUMBER, "ecole-secret")
    url = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    body = {**GUIDE, "classes": [{**GUIDE["classes"][0], "teachers": TEACHER}]}
    assert call(adhesion, "put", url, school, json=body).status_code == 200
    assert call(adhesion, "post", f"{url}/submit", school).status_code == 200
    pump(system)
    slip = call(payment, "post", "/api/payment/cheque-slips", staff, json={"account": ""})
    assert slip.status_code == 201, slip.json
    cheque = call(payment, "post", f"/api/payment/cheque-slips/{slip.json['id']}/cheques", staff, json={
        "cooperative": NUMBER, "year": YEAR, "amount": "439.25", "cheque_number": "1234567", "drawer": DRAWER})
    assert cheque.status_code == 201, cheque.json
    pump(system)
    assert call(adhesion, "patch", f"{url}/checklist", staff, json={"engagement_signed": True}).status_code == 200
    validated = call(adhesion, "post", f"{url}/validate", staff, json={})
    assert validated.status_code == 200, validated.json
    code = validated.json["registration_code"]
    pump(system)
    # a SEPA mandate (activated, its account changed once) and the CRF's quitus
    assert call(payment, "put", "/api/payment/sepa/creditor", staff, json=CREDITOR).status_code == 200
    mandate = call(payment, "post", "/api/payment/mandates", staff, json={
        "cooperative": NUMBER, "debtor_name": DEBTOR, "iban": IBAN,
        "address": {"street": STREET, "postcode": "38200", "town": "Vienne"}})
    assert mandate.status_code == 201, mandate.json
    rum = mandate.json["rum"]
    assert call(payment, "post", f"/api/payment/mandates/{rum}/activate", staff,
                json={"signed_on": "2025-09-01"}).status_code == 200
    assert call(payment, "patch", f"/api/payment/mandates/{rum}", staff, json={"iban": IBAN_2}).status_code == 200
    ledger = system["ledger"]
    quitus = call(ledger, "put", f"/api/ledger/books/{NUMBER}/{YEAR}/crf/quitus", school, json={
        "mandataire": {"name": MANDATAIRE, "date": "2026-09-10"},
        "verifiers": [{"name": VERIFIERS[0], "quality": "parent", "date": "2026-09-10"},
                      {"name": VERIFIERS[1], "quality": "enseignant", "date": "2026-09-11"}]})
    assert quitus.status_code == 200, quitus.json
    pump(system)

    exported = call(adhesion, "get", f"/api/adhesion/cooperatives/{NUMBER}/personal-data", school)
    assert exported.status_code == 200, exported.json
    services = exported.json["services"]
    assert set(services) == set(service_names())
    for name in ("adhesion", "payment", "documents", "notify", "ledger"):
        assert NAME in json.dumps(services[name], ensure_ascii=False), name
    for name in ("adhesion", "payment", "notify"):
        assert EMAIL in json.dumps(services[name], ensure_ascii=False), name
    assert TEACHER in json.dumps(services["adhesion"], ensure_ascii=False)
    assert DRAWER in json.dumps(services["payment"], ensure_ascii=False)
    [held] = services["payment"]["sepa_mandates"]
    assert (held["rum"], held["status"], held["debtor_name"], held["iban"], held["street"]) == (
        rum, "active", DEBTOR, IBAN_2, STREET)
    [book] = services["ledger"]["books"]
    assert book["quitus"]["mandataire"]["name"] == MANDATAIRE
    assert [v["name"] for v in book["quitus"]["verifiers"]] == list(VERIFIERS)
    assert any(r["action"] == "adhesion.validated" for r in services["audit"]["records"])
    other_school = {"Authorization": staff["Authorization"]}
    assert call(adhesion, "get", f"/api/adhesion/cooperatives/{NUMBER}/personal-data", other_school).status_code == 200

    assert call(adhesion, "post", f"/api/adhesion/cooperatives/{NUMBER}/erase", school).status_code == 403
    erased = call(adhesion, "post", f"/api/adhesion/cooperatives/{NUMBER}/erase", staff)
    assert erased.status_code == 200, erased.json
    pump(system)

    stored = everything_stored(system)
    left = [(secret, line) for secret in SECRETS for form in forms(secret) for line in stored.splitlines()
            if form in line]
    assert left == []
    assert "anonymisé" in stored
    # amounts, the code d'enregistrement and the accounting stay
    assert call(payment, "get", f"/api/payment/dues/{NUMBER}/{YEAR}", staff).json["amount_paid"] == "439.25"
    with adhesion.extensions["service"].database.session() as session:
        assert session.execute(text("SELECT registration_code FROM adhesions")).scalar() == code
    with system["ledger"].extensions["service"].database.session() as session:
        assert session.execute(text("SELECT amount FROM adhesion_proposals")).scalar() is not None
    # the mandate keeps its RUM and the account's last four characters, and no longer debits
    kept = call(payment, "get", f"/api/payment/mandates/{rum}", staff).json
    assert (kept["rum"], kept["status"], kept["debtor_name"], kept["address"]["street"]) == (
        rum, "revoked", "anonymisé", "anonymisé")
    assert kept["iban"] == "*" * (len(IBAN_2) - 4) + IBAN_2[-4:]
    # the quitus keeps its dates and qualities, not its names
    crf = call(ledger, "get", f"/api/ledger/books/{NUMBER}/{YEAR}/crf", staff).json
    assert crf["quitus"] == {"mandataire": {"name": "anonymisé", "date": "2026-09-10"}, "verifiers": [
        {"name": "anonymisé", "quality": "parent", "date": "2026-09-10"},
        {"name": "anonymisé", "quality": "enseignant", "date": "2026-09-11"}]}
    # the login stops: the open token and a new sign-in
    assert call(adhesion, "get", url, school).status_code == 401
    assert call(adhesion, "post", "/api/auth/login", json={"login": NUMBER, "password": "ecole-secret"}).status_code == 401
    # the erasure and the export are audited, once each, as the national admin's
    records = call(system["audit"], "get", "/api/audit/events", staff, query_string={"target": NUMBER}).json["items"]
    by_action = {}
    for record in records:
        by_action.setdefault((record["action"], record["service"]), []).append(record)
    assert len(by_action[("personal_data.erased", "adhesion")]) == 1
    assert by_action[("personal_data.erased", "adhesion")][0]["actor"] == "admin"
    assert {service for action, service in by_action if action == "personal_data.erased"} == {
        "adhesion", "payment", "documents", "notify", "ledger"}
    assert len(by_action[("personal_data.exported", "adhesion")]) == 2


def test_accounting_and_email_bodies_go_after_their_retention(system):
    from datetime import date

    from contracts import adhesion as adhesion_events

    adhesion, payment, ledger = system["adhesion"], system["payment"], system["ledger"]
    staff = login(adhesion, "admin", "admin-password")
    assert call(adhesion, "post", "/api/adhesion/cooperatives", staff, json={
        "number": NUMBER, "name": NAME, "town": "VIENNE", "email": EMAIL, "password": "ecole-secret"}).status_code == 201
    school = login(adhesion, NUMBER, "ecole-secret")
    url = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    assert call(adhesion, "put", url, school, json=GUIDE).status_code == 200
    assert call(adhesion, "post", f"{url}/submit", school).status_code == 200
    pump(system)
    slip = call(payment, "post", "/api/payment/cheque-slips", staff, json={"account": ""}).json
    assert call(payment, "post", f"/api/payment/cheque-slips/{slip['id']}/cheques", staff, json={
        "cooperative": NUMBER, "year": YEAR, "amount": "439.25", "cheque_number": "1234567",
        "drawer": DRAWER}).status_code == 201
    pump(system)
    assert call(adhesion, "patch", f"{url}/checklist", staff, json={"engagement_signed": True}).status_code == 200
    assert call(adhesion, "post", f"{url}/validate", staff, json={}).status_code == 200
    pump(system)
    assert call(ledger, "post", f"/api/ledger/books/{NUMBER}/{YEAR}/adhesion-entry", school, json={
        "date": "2025-09-25"}).status_code == 201

    def run(day: date) -> None:
        envelope = adhesion_events.RETENTION_DUE.build({"department": "38", "signin_months": 12, "email_months": 13,
                                                        "accounting_years": 10, "day": day}).to_dict()
        for task_name in subscribers()["department.retention_due"]:
            app = system[queue_of(task_name)]
            with app.app_context():
                app.extensions["celery"].tasks[task_name].run(envelope)

    def count(name, table):
        with system[name].extensions["service"].database.session() as session:
            return session.execute(text(f"SELECT count(*) FROM {table}")).scalar()

    def bodies():
        with system["notify"].extensions["service"].database.session() as session:
            return session.execute(text("SELECT count(*) FROM messages WHERE length(raw) > 0")).scalar()
    assert bodies() >= 2
    run(date(2026, 9, 30))  # 13 months after nothing yet: every body is younger
    assert bodies() >= 2 and count("ledger", "entries") == 1
    run(date(2036, 8, 31))  # 2025-2026 ended ten years ago only tomorrow: kept
    assert (count("payment", "payments"), count("payment", "cheques"), count("ledger", "entries")) == (1, 1, 1)
    assert bodies() == 0  # the email log's bodies: 13 months are long past; the rows stay
    assert count("notify", "messages") >= 2
    run(date(2036, 9, 1))
    assert (count("payment", "payments"), count("payment", "cheques"), count("payment", "dues")) == (0, 0, 0)
    assert (count("ledger", "entries"), count("ledger", "books"), count("ledger", "adhesion_proposals")) == (0, 0, 0)
    # the sign-in records are younger than the six months the log keeps whatever is asked
    national = login(adhesion, "admin", "admin-password")
    pump(system)
    items = call(system["audit"], "get", "/api/audit/events", national, query_string={"limit": 500}).json["items"]
    assert any(item["action"] == "auth.login" for item in items)
    applied = {}
    for item in items:  # newest first: the last run's
        if item["action"] == "retention.applied":
            applied.setdefault(item["service"], item)
    assert {"payment", "ledger", "notify", "audit"} <= set(applied)
    assert applied["payment"]["details"]["payments_removed"] == 1 and applied["payment"]["actor"] == "système"


def test_a_resend_from_the_status_page_is_audited_by_both_services(system):
    """« Renvoyer » on « État du système »: the adhesion service records the national
    administrator's request, the notify service (reached over HTTP) its own change."""
    adhesion, notify = system["adhesion"], system["notify"]
    staff = login(adhesion, "admin", "admin-password")
    assert call(adhesion, "post", "/api/adhesion/cooperatives", staff, json={
        "number": NUMBER, "name": NAME, "town": "VIENNE", "email": EMAIL, "password": "ecole-secret"}).status_code == 201
    school = login(adhesion, NUMBER, "ecole-secret")
    url = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    assert call(adhesion, "put", url, school, json=GUIDE).status_code == 200
    assert call(adhesion, "post", f"{url}/submit", school).status_code == 200
    pump(system)
    with notify.extensions["service"].database.session() as session:  # the relay refused it for good
        message = session.execute(text("SELECT id FROM messages WHERE kind != 'invitation' ORDER BY id")).scalar()
        session.execute(text("UPDATE messages SET status = 'failed' WHERE id = :id"), {"id": message})
    resent = call(adhesion, "post", f"/api/adhesion/operations/emails/{message}/resend", staff)
    assert resent.status_code == 200, resent.json
    pump(system)
    records = call(system["audit"], "get", "/api/audit/events", staff, query_string={"action": "email.resent"}).json
    by_service = {record["service"]: record for record in records["items"]}
    assert len(records["items"]) == 2 and set(by_service) == {"adhesion", "notify"}
    assert (by_service["adhesion"]["actor"], by_service["adhesion"]["actor_kind"]) == ("admin", "national")
    assert (by_service["notify"]["actor"], by_service["notify"]["actor_kind"], by_service["notify"]["department"]) == (
        "adhesion", "service", "38")
    assert {record["target"] for record in records["items"]} == {f"email:{message}"}
