"""docs/campaign.md through the adhesion API, on SQLite and PostgreSQL with the real Redis broker:
departments and staff, the bulk import and its invitations, the lost password, the
staff list of 600 cooperatives, the campaign figures and exports."""
import csv
import io
import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sqlalchemy import select, update

from services.adhesion.models import PasswordReset
from shared.sealed import open_sealed
from tests.integration.test_adhesion_api import YEAR, outbox_rows, pay
from tests.support import GUIDE

TOWNS = ["Saint-Égrève", "Échirolles", "Vienne", "Bourgoin-Jallieu", "Crémieu", "L'Isle-d'Abeau"]


def number_of(i: int) -> str:
    return f"038{i:04d}X00"


def school_file(count: int, separator: str = ";", encoding: str = "cp1252", email_of=None) -> bytes:
    """A file as French Excel saves it: accents in cp1252, one Jean Moulin school."""
    lines = [separator.join(("number", "name", "town", "email"))]
    for i in range(1, count + 1):
        name = "École élémentaire Jean Moulin" if i == 7 else f"Coopérative scolaire de l'école n°{i} « Les Pré-Verts »"
        email = email_of(i) if email_of else f"ce.038{i:04d}x@ac-grenoble.fr"
        lines.append(separator.join((number_of(i), name, TOWNS[i % len(TOWNS)], email)))
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def import_file(client, staff, body: bytes, dry_run=False):
    url = "/api/adhesion/cooperatives/import" + ("?dry_run=1" if dry_run else "")
    return client.post(url, headers=staff, data=body, content_type="text/csv")


def invitations(app):
    return [json.loads(row.payload) for row in outbox_rows(app, "cooperative.invited")]


def resets(app):
    return [json.loads(row.payload) for row in outbox_rows(app, "password_reset.requested")]


def link_of(event: dict) -> str:
    """The link an event carries sealed, as notify opens it to write the email."""
    return open_sealed(event["data"]["sealed_link"], "test-secret")


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


# --- departments and staff ----------------------------------------------------------------------


def test_national_administrator_creates_departments_and_staff(client, staff):
    login = client.post("/api/auth/login", json={"login": "admin", "password": "admin-password"}).json
    assert login["national"] is True
    created = client.post("/api/adhesion/departments", headers=staff, json={
        "number": "26", "name": "OCCE de la Drôme", "insurer": "MAE – MAIF", "contract": "0260001"})
    assert created.status_code == 201, created.json
    assert created.json["contract"] == "0260001" and created.json["number"] == "26"
    assert client.post("/api/adhesion/departments", headers=staff, json={
        "number": "26", "name": "Autre", "insurer": "", "contract": ""}).status_code == 409
    response = client.post("/api/adhesion/staff", headers=staff, json={
        "login": "drome", "password": "drome-secret", "department": "26", "email": "staff@occe26.fr"})
    assert response.status_code == 201, response.json
    drome = client.login("drome", "drome-secret")
    assert client.post("/api/auth/login", json={"login": "drome", "password": "drome-secret"}).json["national"] is False
    # a department's staff: their own department's staff only, no departments
    assert client.post("/api/adhesion/departments", headers=drome, json={
        "number": "07", "name": "OCCE de l'Ardèche", "insurer": "", "contract": ""}).status_code == 403
    assert client.post("/api/adhesion/staff", headers=drome, json={
        "login": "intrus", "password": "intrus-secret", "department": "38", "email": "x@occe.fr"}).status_code == 403
    assert client.post("/api/adhesion/staff", headers=drome, json={
        "login": "drome2", "password": "drome-secret", "department": "26", "email": "b@occe26.fr"}).status_code == 201
    assert client.post("/api/adhesion/staff", headers=staff, json={
        "login": "x", "password": "short", "department": "99", "email": "nope"}).json["fields"].keys() >= {
        "login", "password", "email"}
    assert [d["number"] for d in client.get("/api/adhesion/departments", headers=drome).json["items"]] == ["26"]
    assert [d["number"] for d in client.get("/api/adhesion/departments", headers=staff).json["items"]] == ["26", "38"]


def test_department_settings_belong_to_its_staff(client, staff):
    client.post("/api/adhesion/departments", headers=staff, json={
        "number": "26", "name": "OCCE de la Drôme", "insurer": "MAE", "contract": "1"})
    client.post("/api/adhesion/staff", headers=staff, json={
        "login": "drome", "password": "drome-secret", "department": "26", "email": "staff@occe26.fr"})
    drome = client.login("drome", "drome-secret")
    settings = {"sender_name": "OCCE 26", "address": "1 rue de Valence, 26000 Valence", "phone": "04 75 00 00 00",
                "email": "contact@occe26.fr", "payee": "OCCE 26", "iban": "FR76 3000 6000 0112 3456 7890 189",
                "bic": "agrifrpp"}
    response = client.put("/api/adhesion/departments/26", headers=drome, json=settings)
    assert response.status_code == 200, response.json
    assert response.json["iban"] == "FR7630006000011234567890189" and response.json["bic"] == "AGRIFRPP"
    assert client.put("/api/adhesion/departments/38", headers=drome, json={"phone": "1"}).status_code == 403
    bad = client.put("/api/adhesion/departments/26", headers=drome, json={"iban": "FR7630006000011234567890188"})
    assert bad.status_code == 422 and "iban" in bad.json["fields"]
    assert client.get("/api/adhesion/departments/26", headers=drome).json["payee"] == "OCCE 26"
    # a mailbox on an IDN domain is kept as SMTP takes it (its Reply-To), an empty one is "none"
    idn = client.put("/api/adhesion/departments/26", headers=drome, json={"email": " Contact@OCCE-Drôme.fr "})
    assert idn.status_code == 200, idn.json
    assert client.get("/api/adhesion/departments/26", headers=drome).json["email"] == "Contact@xn--occe-drme-m7a.fr"
    assert client.put("/api/adhesion/departments/26", headers=drome, json={"email": "a@b@c"}).status_code == 422
    assert client.put("/api/adhesion/departments/26", headers=drome, json={"email": ""}).json["email"] == ""


# --- bulk import --------------------------------------------------------------------------------


def test_import_of_600_cp1252_lines_invites_each_once(client, app, staff):
    body = school_file(600)
    assert "é".encode("cp1252") in body
    dry = import_file(client, staff, body, dry_run=True)
    assert dry.status_code == 200, dry.json
    assert (dry.json["created"], dry.json["dry_run"]) == (600, True)
    # the page's preview: each line read and what it does
    assert len(dry.json["rows"]) == 600 and {row["action"] for row in dry.json["rows"]} == {"created"}
    assert invitations(app) == [] and client.get("/api/adhesion/cooperatives", headers=staff).json["total"] == 0

    first = import_file(client, staff, body)
    assert first.status_code == 200, first.json
    assert (first.json["created"], first.json["updated"], first.json["unchanged"]) == (600, 0, 0)
    sent = invitations(app)
    assert sorted(event["data"]["login"] for event in sent) == [number_of(i) for i in range(1, 601)]
    moulin_event = next(event for event in sent if event["data"]["login"] == number_of(7))
    moulin = moulin_event["data"]
    assert moulin["cooperative"]["name"] == "École élémentaire Jean Moulin"
    assert moulin["to"] == "ce.0380007x@ac-grenoble.fr" and "/invitation/" in link_of(moulin_event)
    expires = datetime.fromisoformat(moulin["expires_at"]) - datetime.now(timezone.utc)
    assert timedelta(days=13, hours=23) < expires <= timedelta(days=14)
    # the token is not stored, only its hash
    with app.extensions["service"].database.session() as session:
        stored = session.scalars(select(PasswordReset.token_hash)).all()
    assert token_of(link_of(moulin_event)) not in stored and len(stored) == 600

    again = import_file(client, staff, body)
    assert (again.json["created"], again.json["updated"], again.json["unchanged"]) == (0, 0, 600)
    assert len(invitations(app)) == 600  # nothing sent twice


def test_invitation_link_chooses_the_password_once(client, app, staff):
    import_file(client, staff, school_file(2))
    url = link_of(invitations(app)[0])
    assert client.post("/api/auth/login", json={"login": number_of(1), "password": "anything"}).status_code == 401
    chosen = client.post("/api/auth/password-reset/confirm", json={"token": token_of(url), "password": "premier-mdp"})
    assert chosen.status_code == 200, chosen.json
    assert client.post("/api/auth/login", json={"login": number_of(1), "password": "premier-mdp"}).status_code == 200
    again = client.post("/api/auth/password-reset/confirm", json={"token": token_of(url), "password": "second-mdp"})
    assert again.status_code == 400 and "token" in again.json["fields"]


def test_one_bad_line_refuses_the_whole_file(client, app, staff):
    body = school_file(5).decode("cp1252").splitlines()
    body[3] = "0380-BAD;;Vienne;pas-une-adresse"
    response = import_file(client, staff, "\n".join(body).encode("cp1252"))
    assert response.status_code == 422
    errors = {(e["line"], e["field"]) for e in response.json["errors"]}
    assert errors == {(4, "number"), (4, "name"), (4, "email")}
    assert set(response.json["fields"]["4"]) == {"number", "name", "email"}
    assert client.get("/api/adhesion/cooperatives", headers=staff).json["total"] == 0
    assert invitations(app) == []


def test_upsert_changes_only_what_changed_and_logs_the_mailbox(client, app, staff):
    assert import_file(client, staff, school_file(3, separator=",", encoding="utf-8-sig")).json["created"] == 3
    changed = school_file(3, email_of=lambda i: "nouvelle@ac-grenoble.fr" if i == 2 else f"ce.038{i:04d}x@ac-grenoble.fr")
    response = import_file(client, staff, changed)
    assert (response.json["created"], response.json["updated"], response.json["unchanged"]) == (0, 1, 2)
    detail = client.get(f"/api/adhesion/cooperatives/{number_of(2)}/detail", headers=staff).json
    assert detail["email"] == "nouvelle@ac-grenoble.fr"
    assert [(c["field"], c["old"], c["new"], c["by"]) for c in detail["changes"]] == [
        ("email", "ce.0380002x@ac-grenoble.fr", "nouvelle@ac-grenoble.fr", "admin")]
    assert len(invitations(app)) == 3


def test_import_limits_and_header(client, staff):
    too_big = b"number;name;town;email\r\n" + b"x" * (2 * 1024 * 1024)
    assert import_file(client, staff, too_big).status_code == 413
    assert import_file(client, staff, school_file(5001)).status_code == 413
    wrong_header = import_file(client, staff, b"numero;nom;ville;mail\r\n0380001X00;A;B;c@d.fr\r\n")
    assert wrong_header.status_code == 422 and wrong_header.json["errors"][0]["line"] == 1
    school = client.post("/api/adhesion/cooperatives", headers=staff, json={
        "number": "0389999Z00", "name": "X", "town": "Y", "email": "x@y.fr", "password": "ecole-secret"})
    assert school.status_code == 201
    assert import_file(client, client.login("0389999Z00", "ecole-secret"), school_file(1)).status_code == 403


# --- lost password ------------------------------------------------------------------------------


def test_lost_password_link_works_once_and_expires(client, app, staff):
    client.post("/api/adhesion/cooperatives", headers=staff, json={
        "number": "0382296P00", "name": "Jean Moulin", "town": "VIENNE", "email": "ce.0382296p@ac-grenoble.fr",
        "password": "ancien-mdp"})
    unknown = client.post("/api/auth/password-reset", json={"login": "0000000X00"})
    assert unknown.status_code == 202 and resets(app) == []
    known = client.post("/api/auth/password-reset", json={"login": "0382296P00"})
    assert (known.status_code, known.json) == (unknown.status_code, unknown.json)
    [event] = resets(app)
    assert event["data"]["to"] == "ce.0382296p@ac-grenoble.fr" and event["data"]["reason"] == "requested"
    expires = datetime.fromisoformat(event["data"]["expires_at"]) - datetime.now(timezone.utc)
    assert timedelta(minutes=59) < expires <= timedelta(hours=1)
    token = token_of(link_of(event))
    assert client.post("/api/auth/password-reset/confirm", json={"token": token, "password": "nouveau-mdp"}).status_code == 200
    assert client.post("/api/auth/login", json={"login": "0382296P00", "password": "ancien-mdp"}).status_code == 401
    assert client.post("/api/auth/login", json={"login": "0382296P00", "password": "nouveau-mdp"}).status_code == 200
    assert client.post("/api/auth/password-reset/confirm", json={"token": token, "password": "encore-mdp"}).status_code == 400
    # a link left an hour is dead
    client.post("/api/auth/password-reset", json={"login": "0382296P00"})
    late = token_of(link_of(resets(app)[-1]))
    with app.extensions["service"].database.session() as session:
        session.execute(update(PasswordReset).where(PasswordReset.used_at.is_(None)).values(
            expires_at=datetime.now(timezone.utc) - timedelta(seconds=1)))
    assert client.post("/api/auth/password-reset/confirm", json={"token": late, "password": "tardif-mdp"}).status_code == 400
    assert client.post("/api/auth/password-reset/confirm", json={"token": "inconnu", "password": "tardif-mdp"}).status_code == 400
    # staff send a link from the cooperative's page
    assert client.post("/api/adhesion/cooperatives/0382296P00/password-reset", headers=staff).status_code == 202
    assert resets(app)[-1]["data"]["reason"] == "staff"


# --- the staff list of 600 cooperatives ---------------------------------------------------------


def test_600_cooperatives_listed_searched_and_deactivated(client, app, staff):
    import_file(client, staff, school_file(600))
    # how fast it answers is measured by bench/cooperatives.py, not asserted here
    page = client.get("/api/adhesion/cooperatives?page=1&per_page=50&sort=name", headers=staff)
    assert page.status_code == 200
    assert (page.json["total"], page.json["pages"], len(page.json["items"])) == (600, 12, 50)
    found = client.get("/api/adhesion/cooperatives?q=moulin", headers=staff).json
    assert [item["number"] for item in found["items"]] == [number_of(7)]
    assert client.get("/api/adhesion/cooperatives?q=echirolles", headers=staff).json["total"] == 100
    # deactivated: no login, no reminder, history kept
    url = next(link_of(e) for e in invitations(app) if e["data"]["login"] == number_of(7))
    client.post("/api/auth/password-reset/confirm", json={"token": token_of(url), "password": "moulin-mdp"})
    school = client.login(number_of(7), "moulin-mdp")
    assert client.put(f"/api/adhesion/adhesions/{number_of(7)}/{YEAR}", headers=school, json=GUIDE).status_code == 200
    off = client.patch(f"/api/adhesion/cooperatives/{number_of(7)}", headers=staff, json={"active": False})
    assert off.status_code == 200 and off.json["active"] is False
    assert client.post("/api/auth/login", json={"login": number_of(7), "password": "moulin-mdp"}).status_code == 401
    assert client.get(f"/api/adhesion/adhesions/{number_of(7)}/{YEAR}", headers=school).status_code == 401
    assert client.get(f"/api/adhesion/adhesions/{number_of(7)}/{YEAR}", headers=staff).status_code == 200
    reminded = client.post(f"/api/adhesion/reminders/{YEAR}", headers=staff).json["reminded"]
    assert len(reminded) == 599 and number_of(7) not in reminded


def test_list_totals_of_the_filtered_set(client, app, staff):
    import_file(client, staff, school_file(3))
    for i in (1, 2):
        url = next(link_of(e) for e in invitations(app) if e["data"]["login"] == number_of(i))
        client.post("/api/auth/password-reset/confirm", json={"token": token_of(url), "password": "ecole-mdp"})
        school = client.login(number_of(i), "ecole-mdp")
        client.put(f"/api/adhesion/adhesions/{number_of(i)}/{YEAR}", headers=school, json=GUIDE)
        assert client.post(f"/api/adhesion/adhesions/{number_of(i)}/{YEAR}/submit", headers=school).status_code == 200
    pay(app, number_of(1), YEAR, "439.25")
    listing = client.get(f"/api/adhesion/cooperatives?year={YEAR}&sort=status", headers=staff).json
    assert listing["totals"] == {"cooperators": 350, "due": "878.50", "paid": "439.25"}
    assert [item["status"] for item in listing["items"]] == ["not_started", "submitted", "submitted"]
    only = client.get(f"/api/adhesion/cooperatives?year={YEAR}&status=not_started", headers=staff).json
    assert (only["total"], only["totals"]["due"]) == (1, "0.00")


# --- the campaign -------------------------------------------------------------------------------


def test_campaign_figures_and_exports_match_known_counts(client, app, staff):
    import_file(client, staff, school_file(6))
    schools = {}
    for i in range(1, 6):
        url = next(link_of(e) for e in invitations(app) if e["data"]["login"] == number_of(i))
        client.post("/api/auth/password-reset/confirm", json={"token": token_of(url), "password": "ecole-mdp"})
        schools[i] = client.login(number_of(i), "ecole-mdp")
        client.put(f"/api/adhesion/adhesions/{number_of(i)}/{YEAR}", headers=schools[i], json=GUIDE)
    for i in (2, 3, 4, 5):
        assert client.post(f"/api/adhesion/adhesions/{number_of(i)}/{YEAR}/submit", headers=schools[i]).status_code == 200
    client.post(f"/api/adhesion/adhesions/{number_of(3)}/{YEAR}/request-correction", headers=staff,
                json={"message": "Précisez les CE1."})
    for i in (4, 5):
        pay(app, number_of(i), YEAR, "439.25")
        client.patch(f"/api/adhesion/adhesions/{number_of(i)}/{YEAR}/checklist", headers=staff,
                     json={"engagement_signed": True})
        assert client.post(f"/api/adhesion/adhesions/{number_of(i)}/{YEAR}/validate", headers=staff).status_code == 200
    stats = client.get(f"/api/adhesion/stats/{YEAR}", headers=staff)
    assert stats.status_code == 200, stats.json
    s = stats.json
    assert (s["cooperatives"], s["not_started"], s["validated"], s["unpaid"]) == (6, 1, 2, 2)
    assert s["by_status"] == {"draft": 1, "submitted": 1, "correction_requested": 1, "validated": 2}
    assert s["cooperators"] == 4 * 175
    assert len(s["daily"]) == 30 and s["daily"][0]["date"] == "2025-09-01"
    # today lies outside September 2025: the submissions are late and off the chart's days
    assert s["late"] == 4

    export = client.get(f"/api/adhesion/adhesions/export.csv?year={YEAR}", headers=staff)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert export.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:5] == ["Numéro", "Coopérative", "Commune", "Courriel", "Statut"] and len(rows) == 7
    moulin = next(row for row in rows if row[0] == number_of(5))
    assert moulin[4] == "validée" and moulin[13:16] == ["439,25", "439,25", "26/0002 A"]
    declaration = client.get(f"/api/adhesion/adhesions/declaration.csv?year={YEAR}", headers=staff)
    lines = list(csv.reader(io.StringIO(declaration.data.decode("utf-8-sig")), delimiter=";"))
    assert [line[0] for line in lines[1:]] == [number_of(4), number_of(5)]
    assert lines[1][4:] == ["175", "0,00", "0,00", "43,75"]
    assert Decimal(lines[1][-1].replace(",", ".")) == Decimal("43.75")
