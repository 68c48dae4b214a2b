"""``POST /api/adhesion/quote`` over HTTP, on SQLite and on PostgreSQL: the price of figures
as typed, from the domain's one pricing, with the access rules of the adhesion calls and
nothing saved."""
import json

from services.adhesion.models import Account, Department
from shared.auth import hash_password
from tests.integration.test_adhesion_api import NUMBER, YEAR, create_cooperative, outbox_rows, school  # noqa: F401
from tests.support import GUIDE
from tests.unit.test_adhesion_domain import PRICING_CASES

URL = "/api/adhesion/quote"
AMOUNT_KEYS = ("membership", "insurance", "goods", "instruments", "total")


def quoted(client, headers, **body):
    response = client.post(URL, headers=headers, json={"cooperative": NUMBER, "year": YEAR, **body})
    assert response.status_code == 200, response.json
    return response.json


def amounts_of(answer) -> tuple:
    return tuple(answer["amounts"][key] for key in AMOUNT_KEYS)


def test_the_guide_example_is_quoted_and_nothing_is_saved(client, app, school):
    answer = quoted(client, school, classes=[{"teacher_count": 10, "student_count": 165}], insurance=True)
    assert answer["totals"] == {"teachers": 10, "students": 165, "cooperators": 175}
    assert answer["amounts"] == {"membership": "395.50", "insurance": "43.75", "goods": "0.00",
                                 "instruments": "0.00", "total": "439.25"}
    assert (answer["cooperative"], answer["year"], answer["insurance"], answer["ignored"]) == (NUMBER, YEAR, True, [])
    assert (answer["goods_value"], answer["instruments_value"]) == ("0.00", "0.00")
    assert (answer["rates"]["fee_per_student"], answer["rates"]["insurance_per_cooperator"]) == ("2.26", "0.25")
    assert answer["rates"]["department"] == "38"
    adhesion = client.get(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", headers=school).json
    assert (adhesion["classes"], adhesion["status"], adhesion["amounts"]["total"]) == ([], "draft", "0.00")
    assert outbox_rows(app) == []
    # a PUT body, quoted as it is, comes to what the PUT computes
    for body in (GUIDE, {**GUIDE, "goods_value": "5000.00", "instruments_value": "1500.00"}):
        saved = client.put(f"/api/adhesion/adhesions/{NUMBER}/{YEAR}", headers=school, json=body).json
        assert quoted(client, school, **body)["amounts"] == saved["amounts"]
    assert outbox_rows(app) == []  # a draft: nothing published, the quotes added nothing


def test_every_pricing_case_of_the_domain_through_http(client, staff, school):
    base = {key: value for key, value in client.get(f"/api/adhesion/rates/{YEAR}", headers=staff).json.items()
            if key not in ("department", "year")}
    for name, (overrides, rows, insurance, goods, instruments, expected) in PRICING_CASES.items():
        response = client.put(f"/api/adhesion/rates/{YEAR}", headers=staff, json={**base, **overrides})
        assert response.status_code == 200, (name, response.json)
        classes = [{"teacher_count": t, "student_count": s} for t, s in rows]
        for who in (school, staff):
            answer = quoted(client, who, classes=classes, insurance=insurance, goods_value=goods,
                            instruments_value=instruments)
            assert amounts_of(answer) == expected, (name, answer["amounts"])
        # the same figures typed as text in the form
        typed = [{"teacher_count": str(t), "student_count": str(s)} for t, s in rows]
        answer = quoted(client, school, classes=typed, insurance=insurance, goods_value=goods.replace(".", ","),
                        instruments_value=instruments)
        assert amounts_of(answer) == expected and answer["ignored"] == [], (name, answer)


def test_figures_typed_as_text_read_as_the_form_means_them(client, school):
    """The estimate beside a refusal: « 2O » (a letter O) and a value beyond the bound count
    for nothing and are named; spaces, a decimal comma and « € » are read."""
    rows = [{"teacher_count": "10", "student_count": "165"}, {"teacher_count": "1", "student_count": "2O"}]
    answer = quoted(client, school, classes=rows, insurance=True, goods_value="2 500,00")
    assert answer["totals"] == {"teachers": 11, "students": 165, "cooperators": 176}
    assert amounts_of(answer) == ("397.76", "44.00", "3.44", "0.00", "445.20")  # (2500 − 2000) × 0,00688
    assert answer["ignored"] == ["classes.1.student_count"] and answer["goods_value"] == "2500.00"
    assert quoted(client, school, classes=rows, insurance=False, goods_value="2 500,00")["amounts"]["total"] == "397.76"
    for typed, count in [(" 1 2 ", 12), ("", 0), ("\u00a0165\u202f", 165), ("0", 0), ("5000", 5000)]:
        answer = quoted(client, school, classes=[{"teacher_count": typed}])
        assert (answer["totals"]["teachers"], answer["ignored"]) == (count, []), typed
    for typed in ("-3", "5001", "9" * 40, "2.5", "1e3", "١٢", "２５", "²", "+4", "0x10"):
        answer = quoted(client, school, classes=[{"student_count": "20"}, {"teacher_count": typed}])
        assert (answer["totals"]["cooperators"], answer["ignored"]) == (20, ["classes.1.teacher_count"]), typed
    for typed, value in [("1 500,50 €", "1500.50"), ("1500", "1500.00"), ("", "0.00"), ("1\u202f000\u202f000", "1000000.00"),
                         (1500, "1500.00")]:
        answer = quoted(client, school, insurance=True, instruments_value=typed)
        assert (answer["instruments_value"], answer["ignored"]) == (value, []), typed
    for typed in ("2500000", "1000000,01", "10.005", "abc", "-1", "1.500,00", "NaN", "1e400"):
        answer = quoted(client, school, insurance=True, goods_value=typed)
        assert (answer["goods_value"], answer["amounts"]["goods"], answer["ignored"]) == (
            "0.00", "0.00", ["goods_value"]), typed


def test_who_may_quote_for_which_cooperative(client, app, staff, school):
    body = {"cooperative": NUMBER, "year": YEAR, "classes": [{"teacher_count": 10, "student_count": 165}]}
    create_cooperative(client, staff, number="0380001A00")
    for number in ("0380001A00", "0389999Z00"):  # another school's, or one that does not exist: not its own
        response = client.post(URL, headers=school, json={**body, "cooperative": number})
        assert response.status_code == 403 and response.json["error"] == "forbidden", response.json
    assert client.post(URL, headers=staff, json={**body, "cooperative": "0380001A00"}).status_code == 200
    unknown = client.post(URL, headers=staff, json={**body, "cooperative": "0389999Z00"})
    assert unknown.status_code == 404 and unknown.json["error"] == "not_found"
    no_rates = client.post(URL, headers=school, json={**body, "year": "2031-2032"})
    assert no_rates.status_code == 404 and "tarifs" in no_rates.json["message"]
    assert client.post(URL, json=body).status_code == 401
    with app.extensions["service"].database.session() as session:
        session.add(Department(code="73", name="OCCE de la Savoie", insurer="", insurer_contract=""))
        session.flush()
        session.add(Account(login="savoie", password_hash=hash_password("savoie-password"), role="staff",
                            department="73"))
    savoie = client.login("savoie", "savoie-password")
    response = client.post(URL, headers=savoie, json=body)
    assert response.status_code == 403 and "autre département" in response.json["message"]


ROW = {"teacher_count": 10, "student_count": 165}
BAD_BODIES = [  # (what is changed in a valid body, the path of the field the 422 names)
    ({"classes": [{**ROW, "teacher_count": 5001}]}, ("classes", "0", "teacher_count")),
    ({"classes": [{**ROW, "teacher_count": -1}]}, ("classes", "0", "teacher_count")),
    ({"classes": [{**ROW, "student_count": 10**20}]}, ("classes", "0", "student_count")),
    ({"classes": [{**ROW, "student_count": 2.5}]}, ("classes", "0", "student_count")),
    ({"classes": [{**ROW, "student_count": True}]}, ("classes", "0", "student_count")),
    ({"classes": [{**ROW, "student_count": None}]}, ("classes", "0", "student_count")),
    ({"classes": [{**ROW, "student_count": {"value": 3}}]}, ("classes", "0", "student_count")),
    ({"classes": [{**ROW, "student_count": ["3"]}]}, ("classes", "0", "student_count")),
    ({"classes": [{**ROW, "student_count": "1" * 51}]}, ("classes", "0", "student_count")),
    ({"classes": [{**ROW, "student_count": "1\u00002"}]}, ("classes", "0", "student_count")),
    ({"classes": [{**ROW, "colour": "blue"}]}, ("classes", "0", "colour")),
    ({"classes": [ROW, "ECOLE"]}, ("classes", "1")),
    ({"classes": [[ROW]]}, ("classes", "0")),
    ({"classes": "ECOLE ENTIERE"}, ("classes",)),
    ({"classes": [ROW] * 201}, ("classes",)),
    ({"goods_value": 12.5}, ("goods_value",)),
    ({"goods_value": 2_000_000}, ("goods_value",)),
    ({"goods_value": {"amount": "12"}}, ("goods_value",)),
    ({"instruments_value": False}, ("instruments_value",)),
    ({"insurance": "oui"}, ("insurance",)),
    ({"insurance": 1}, ("insurance",)),
    ({"payment": {"cheque": "oui"}}, ("payment", "cheque")),
    ({"cooperative": "0382296p00"}, ("cooperative",)),
    ({"cooperative": "0382296P00\n"}, ("cooperative",)),
    ({"cooperative": 382296}, ("cooperative",)),
    ({"year": "2025-2027"}, ("year",)),
    ({"year": "2025-2026\n"}, ("year",)),
    ({"year": ["2025-2026"]}, ("year",)),
    ({"colour": "blue"}, ("colour",)),
]


def test_bad_input_is_refused_naming_the_field(client, school):
    body = {"cooperative": NUMBER, "year": YEAR, "classes": [ROW], "insurance": True}
    for change, path in BAD_BODIES:
        response = client.post(URL, headers=school, json={**body, **change})
        assert response.status_code == 422, (change, response.status_code, response.json)
        named = response.json["fields"]
        for key in path:
            assert key in named, (change, path, response.json)
            named = named[key]
    for missing in ("cooperative", "year"):
        response = client.post(URL, headers=school, json={k: v for k, v in body.items() if k != missing})
        assert response.status_code == 422 and missing in response.json["fields"]
    # what no service accepts is refused before the schema: 400 naming the field
    raw = json.dumps(body)
    for text, field in [(raw.replace('"classes": [', '"classes": [{"teacher_count": "\\ud800"}, '), "classes"),
                        (raw.replace('"insurance": true', '"insurance": ' + "9" * 31), "insurance"),
                        (raw.replace('"insurance": true', '"insurance": ' + "[" * 40 + "]" * 40), "insurance"),
                        (raw.replace('"insurance": true', '"insurance": NaN'), "insurance")]:
        response = client.post(URL, headers={**school, "Content-Type": "application/json"}, data=text)
        assert response.status_code == 400 and field in response.json["fields"], (text[:80], response.json)
    for text, status in [("not json", 400), ("[]", 422), ("", 422), ("x" * (300 * 1024), 413)]:
        response = client.post(URL, headers={**school, "Content-Type": "application/json"}, data=text)
        assert response.status_code == status, (text[:20], response.status_code, response.json)
        assert set(response.json) >= {"error", "message", "fields"}
