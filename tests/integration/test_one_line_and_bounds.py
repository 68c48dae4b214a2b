"""What a probe from outside found (issue 24, items 4 and 7), on SQLite and PostgreSQL: a
one-line text (name, town, class, department settings, the import's cells) refuses line
breaks and control characters with 422 naming the field; a renewal window stays within
its school year; a year no calendar holds answers 400, never 500."""
from datetime import date

import pytest
from sqlalchemy import update

from services.adhesion.models import RateCard
from services.ledger.app import create_app as create_ledger_app
from shared.auth import Principal
from tests.integration.test_adhesion_api import NUMBER, YEAR, create_cooperative
from tests.integration.test_departments import import_file
from tests.support import GUIDE, bearer_for

# CR, LF, CRLF, the line and paragraph separators, NEL (C1), tab, another C1, a C0
BREAKERS = ["\n", "\r", "\r\n", "\u2028", "\u2029", "\x85", "\t", "\x9b", "\x1e"]


def fields_of(response) -> dict:
    assert response.status_code == 422, (response.status_code, response.json)
    return response.json["fields"]


def test_one_line_texts_refuse_line_breaks_with_the_field_named(client, staff):
    school = create_cooperative(client, staff)
    adhesion = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
    row = GUIDE["classes"][0]
    for breaker in BREAKERS:
        name = f"École{breaker}Jean Moulin"
        assert "name" in fields_of(client.post("/api/adhesion/cooperatives", headers=staff, json={
            "number": "0380001A00", "name": name, "town": "VIENNE", "email": "a@b.fr", "password": "ecole-secret"}))
        assert "town" in fields_of(client.patch(f"/api/adhesion/cooperatives/{NUMBER}", headers=staff,
                                                json={"town": f"SAINT{breaker}EGREVE"}))
        classes = fields_of(client.put(adhesion, headers=school, json={
            **GUIDE, "classes": [{**row, "name": f"CP{breaker}CE1", "teachers": f"Mme A{breaker}M. B"}]}))["classes"]
        assert set(classes["0"]) == {"name", "teachers"}
        settings = fields_of(client.put("/api/adhesion/departments/38", headers=staff, json={
            "name": f"OCCE{breaker}Isère", "address": f"1 rue{breaker}38000 Grenoble", "payee": f"OCCE{breaker}38"}))
        assert set(settings) == {"name", "address", "payee"}
        assert "name" in fields_of(client.post("/api/adhesion/departments", headers=staff, json={
            "number": "26", "name": f"OCCE{breaker}Drôme", "insurer": "", "contract": ""}))
        body = f'number;name;town;email\n0380002A00;"École{breaker}Les Pins";Vienne;c@d.fr\n'.encode()
        refused = import_file(client, staff, body)
        assert refused.status_code == 422
        assert [(e["line"], e["field"]) for e in refused.json["errors"]] == [(2, "name")]
    # a final line break is no more welcome, nor one in an IBAN (a 500 before)
    assert "iban" in fields_of(client.put("/api/adhesion/departments/38", headers=staff,
                                          json={"iban": "FR7630006000011234567890189\n"}))
    assert client.get(f"/api/adhesion/cooperatives/{NUMBER}", headers=staff).json["town"] == "VIENNE"
    assert client.get("/api/adhesion/cooperatives", headers=staff).json["total"] == 1
    # a message to a school is a paragraph: its line breaks stay
    assert client.put(adhesion, headers=school, json=GUIDE).status_code == 200
    assert client.post(f"{adhesion}/submit", headers=school).status_code == 200
    asked = client.post(f"{adhesion}/request-correction", headers=staff,
                        json={"message": "Il manque le CM2.\r\nMerci !"})
    assert asked.status_code == 200 and asked.json["correction_message"] == "Il manque le CM2.\r\nMerci !"


def rates_with(client, staff, **window) -> dict:
    card = client.get(f"/api/adhesion/rates/{YEAR}", headers=staff).json
    return {**{k: v for k, v in card.items() if k not in ("department", "year")}, **window}


def test_the_renewal_window_stays_within_its_school_year(client, app, staff):
    url = f"/api/adhesion/rates/{YEAR}"
    endless = client.put(url, headers=staff, json=rates_with(client, staff, renewal_closes="9999-12-31"))
    assert set(fields_of(endless)) == {"renewal_closes"}
    assert "31/08/2026" in fields_of(endless)["renewal_closes"][0]
    early = client.put(url, headers=staff, json=rates_with(client, staff, renewal_opens="2025-02-28"))
    assert set(fields_of(early)) == {"renewal_opens"}
    widest = rates_with(client, staff, renewal_opens="2025-03-01", renewal_closes="2026-08-31")
    assert client.put(url, headers=staff, json=widest).status_code == 200
    stats = client.get(f"/api/adhesion/stats/{YEAR}", headers=staff)
    assert stats.status_code == 200 and len(stats.json["daily"]) == (date(2026, 8, 31) - date(2025, 3, 1)).days + 1
    no_calendar = client.put("/api/adhesion/rates/0000-0001", headers=staff, json=widest)
    assert no_calendar.status_code == 400 and "year" in no_calendar.json["fields"]
    # a window saved before the bounds were checked: the figures walk the year's days only
    with app.extensions["service"].database.session() as session:
        session.execute(update(RateCard).where(RateCard.year == YEAR).values(
            renewal_opens=date(1, 1, 1), renewal_closes=date(9999, 12, 31)))
    stats = client.get(f"/api/adhesion/stats/{YEAR}", headers=staff)
    assert stats.status_code == 200, stats.json
    assert (stats.json["daily"][0]["date"], stats.json["daily"][-1]["date"]) == ("2025-03-01", "2026-08-31")


@pytest.fixture
def ledger(make_app, tmp_path, database_url):
    return make_app(create_ledger_app, database_url, data_dir=tmp_path / "ledger")


def test_a_year_no_calendar_holds_is_a_400_on_every_ledger_call(ledger):
    school = bearer_for(Principal(login=NUMBER, role="school", department="38", cooperative=NUMBER))
    http = ledger.test_client()
    book = f"/api/ledger/books/{NUMBER}/0000-0001"
    for method, path, body in [
        ("get", book, None), ("put", f"{book}/opening", {"bank": "10.00", "cash": "0.00"}),
        ("post", f"{book}/entries", {"date": "2025-09-01", "label": "Don", "direction": "income", "account": "bank",
                                     "method": "cheque", "amount": "1.00",
                                     "allocations": [{"category": "75800000", "amount": "1.00"}]}),
        ("get", f"{book}/adhesion-entry", None), ("post", f"{book}/adhesion-entry", {}),
        ("get", f"{book}/export.csv", None),
        # the year's end (docs/ledger.md#6)
        ("get", f"{book}/crf", None), ("get", f"{book}/crf.pdf", None), ("post", f"{book}/close", {}),
        ("put", f"{book}/cash-count", {"date": "2025-08-31", "counted": {}}), ("post", f"{book}/crf/submit", None),
        ("post", f"{book}/statement/confirm", {"pairs": [{"line": 1, "entry": "D01"}]}),
        ("post", f"{book}/entries/D01/pointage", {"on": "2025-09-01"}), ("get", f"{book}/crf/statement", None),
    ]:
        response = getattr(http, method)(path, headers=school, json=body)
        assert response.status_code == 400, (method, path, response.status_code)
        assert "year" in response.json["fields"]
    assert http.get(f"/api/ledger/books/{NUMBER}/0001-0002", headers=school).status_code == 200
    assert http.get(f"/api/ledger/books/{NUMBER}/0001-0002/crf", headers=school).status_code == 200
    staff = bearer_for(Principal(login="admin", role="staff", department="38"))
    assert http.get("/api/ledger/crf/0000-0001", headers=staff).status_code == 400
    assert http.put("/api/ledger/settings", headers=staff, json={"crf_deadline": "01-15"}).status_code == 200
    assert http.get("/api/ledger/crf/9998-9999", headers=staff).status_code == 200  # due in year 10000: capped
