"""The adhesion form's own checks and estimate (no I/O: the API's answers are given): a
count is never silently a 0, and the amounts beside a refusal and the live ones are the
adhesion service's quote of the typed figures, sent as typed."""
import pytest
from flask import Flask, render_template, session
from werkzeug.datastructures import MultiDict

from web import client as web_client
from web import formatting, forms, pages
from web.app import create_app
from web.client import ApiFailure
from web.security import seal

RATES = {"fee_per_student": "2.26", "fee_per_adult": "2.26", "fee_per_cooperative": "0.00",
         "insurance_per_cooperator": "0.25", "goods_threshold": "2000.00", "goods_rate": "0.00688",
         "instruments_threshold": "0.00", "instruments_rate": "0.00688",
         "renewal_opens": "2025-09-01", "renewal_closes": "2025-09-30"}


def row(name="CP", teachers="", teacher_count="1", student_count="24"):
    return {"name": name, "teachers": teachers, "teacher_count": teacher_count, "student_count": student_count}


def test_empty_and_mistyped_counts_are_errors_blank_rows_are_not():
    rows = [row(student_count="28e"), row(teacher_count=""), row("", "", "", ""), row(student_count=" 1 2 ")]
    assert forms.count_errors(rows) == {
        "classes-0-student_count": [forms.COUNT_INVALID],
        "classes-1-teacher_count": [forms.COUNT_EMPTY],
    }
    assert forms.count_errors([row(teacher_count="0", student_count="0")]) == {}


def test_a_mistyped_count_goes_to_the_api_as_typed_never_as_0():
    form = MultiDict({"row_count": "1", "classes-0-name": "CP", "classes-0-teacher_count": "1",
                      "classes-0-student_count": "28e", "insurance": "oui"})
    payload, origin = forms.adhesion_payload(form, forms.posted_rows(form))
    assert payload["classes"][0]["student_count"] == "28e" and origin == [0]


QUOTE = {  # what the adhesion service answers for the rows below (its own test prices them)
    "cooperative": "0382296P00", "year": "2025-2026", "insurance": True, "goods_value": "2500.00",
    "instruments_value": "0.00", "totals": {"teachers": 11, "students": 165, "cooperators": 176},
    "amounts": {"membership": "397.76", "insurance": "44.00", "goods": "3.44", "instruments": "0.00",
                "total": "445.20"},
    "rates": RATES, "ignored": ["classes.1.student_count"],
}
TYPED = {"rows": [row("ECOLE ENTIERE", "", "10", "165"), row("CE1", "", "1", "2O"), row("", "", "", "")],
         "insurance": True, "goods_value": "2 500,00", "instruments_value": "", "payment": {}}


def test_the_estimate_is_the_adhesion_services_quote_of_the_typed_text(monkeypatch):
    sent = []
    monkeypatch.setattr(pages.client, "post", lambda path, json: sent.append((path, json)) or QUOTE)
    saved = {"status": "draft", "insurance": False, "goods_value": "0.00", "amounts": {}, "totals": {}}
    shown = pages.estimated(saved, TYPED, "0382296P00", "2025-2026")
    assert sent == [("/api/adhesion/quote", {
        "cooperative": "0382296P00", "year": "2025-2026", "insurance": True,
        "classes": [{"teacher_count": "10", "student_count": "165"}, {"teacher_count": "1", "student_count": "2O"}],
        "goods_value": "2 500,00", "instruments_value": ""})]  # as typed: the service reads it
    assert shown["status"] == "draft" and shown["insurance"] and shown["goods_value"] == "2500.00"
    assert (shown["totals"], shown["amounts"]) == (QUOTE["totals"], QUOTE["amounts"])
    lines = pages.amount_lines(shown, RATES)
    assert [line["amount"] for line in lines] == ["397,76 €", "44,00 €", "3,44 €", "0,00 €", "445,20 €"]
    assert lines[0]["detail"] == "des coopérateurs (176 x 2,26 €) :"


def failing(status: int):
    def answer(*args, **kwargs):
        raise ApiFailure(status, "Certaines valeurs sont invalides." if status == 422 else "Refusé.")
    return answer


def test_no_estimate_when_the_service_cannot_quote(monkeypatch):
    for status in (400, 404, 422, 503):  # the page then shows the saved amounts
        monkeypatch.setattr(pages.client, "post", failing(status))
        assert pages.estimated({}, TYPED, "0382296P00", "2025-2026") is None
    monkeypatch.setattr(pages.client, "post", failing(500))
    with pytest.raises(ApiFailure):
        pages.estimated({}, TYPED, "0382296P00", "2025-2026")


@pytest.fixture
def web(tmp_path, monkeypatch):
    """The pages' app signed in as a school, its API calls answered by ``web.calls``."""
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", "test-secret")
    app = create_app()
    app.calls = []

    def call(method, path, **kwargs):
        app.calls.append((method, path, kwargs.get("json")))
        return app.answer(path) if callable(app.answer) else app.answer

    monkeypatch.setattr(web_client, "call", call)
    http = app.test_client()
    with http.session_transaction() as session:
        session.update(token=seal_in(app, "api-token"), role="school", cooperative="0382296P00", csrf="jeton")
    return app, http


def seal_in(app, token):
    with app.test_request_context():
        return seal(token)


def test_the_live_amounts_are_the_services_figures_for_the_posted_form(web):
    app, http = web
    app.answer = QUOTE
    form = {"csrf_token": "jeton", "row_count": "3", "insurance": "oui", "goods_value": "2 500,00",
            "instruments_value": "", "pay_cheque": "oui"}
    for index, typed in enumerate(TYPED["rows"]):
        form.update({f"classes-{index}-{key}": value for key, value in typed.items()})
    response = http.post("/adhesion/2025-2026/montant", data=form)
    assert response.status_code == 200 and response.is_json
    assert [(line["key"], line["amount"]) for line in response.json["lines"]] == [
        ("membership", "397,76 €"), ("insurance", "44,00 €"), ("goods", "3,44 €"), ("instruments", "0,00 €"),
        ("total", "445,20 €")]
    assert response.json["lines"][2]["detail"] == ("des biens, propriété de la Coopérative Scolaire "
                                                   "(valeur déclarée : 2 500,00 €) :")
    assert response.json["ignored"] == ["classes.1.student_count"]
    assert app.calls == [("post", "/api/adhesion/quote", {
        "cooperative": "0382296P00", "year": "2025-2026", "insurance": True,
        "classes": [{"teacher_count": "10", "student_count": "165"}, {"teacher_count": "1", "student_count": "2O"}],
        "goods_value": "2 500,00", "instruments_value": ""})]
    assert http.post("/adhesion/2025-2026/montant", data={**form, "csrf_token": "autre"}).status_code == 400
    assert http.post("/adhesion/2025-26/montant", data=form).status_code == 404
    app.answer = failing(422)
    response = http.post("/adhesion/2025-2026/montant", data=form)
    assert response.status_code == 422 and response.json == {"message": "Certaines valeurs sont invalides."}


def test_next_steps_partial_payment_from_the_payment_service():
    adhesion = {"amounts": {"total": "439.25"}, "payment": {"transfer": False, "cheque": True, "other": False},
                "checklist": {"amount_paid": "0.00", "amount_due": "439.25", "engagement_signed": False,
                              "change_form": "not_required"},
                "late": True, "department": {"name": "OCCE de l'Isère", "payee": "OCCE 38"},
                "cooperative": {"number": "0380015E00"}, "year": "2025-2026"}
    dues = {"status": "partial", "amount_paid": "200.00", "amount_due": "439.25", "balance": "239.25",
            "reference_display": "RF80 2603 8001 5E00"}
    steps = pages.next_steps(adhesion, dues, True)
    assert steps["payment"] == {"status": "partial", "paid": "200,00 €", "due": "439,25 €", "balance": "239,25 €"}
    assert steps["ways"] == ["cheque"] and steps["reference"] == "RF80 2603 8001 5E00" and steps["late"]


def test_next_steps_invent_no_payment_status(web):
    """Before the dues reach payment nothing can be received; while payment is down the page
    says so and shows the adhesion's own figures, never a status of its own making."""
    adhesion = {"amounts": {"total": "439.25"}, "payment": {"transfer": True, "cheque": False, "other": False},
                "checklist": {"amount_paid": "200.00", "amount_due": "439.25", "payment_received": False,
                              "engagement_signed": False, "change_form": "not_required"},
                "department": {"name": "OCCE de l'Isère"}, "cooperative": {"number": "0382296P00"}, "year": "2025-2026"}
    assert pages.next_steps(adhesion, None, True)["payment"] == {"status": "unpaid"}
    steps = pages.next_steps(adhesion, None, False)
    assert steps["payment"] == {"status": None, "paid": "200,00 €", "due": "439,25 €", "received": False}
    assert steps["reference"] == "RF37 2603 8229 6P00"  # deterministic: known without the payment service
    app, _ = web
    with app.test_request_context():
        page = render_template("next_steps.html", steps=steps, adhesion={
            "year": "2025-2026", "cooperative": {"number": "0382296P00"}})
    assert "État du paiement momentanément indisponible." in page
    assert "Dernier montant reçu connu : 200,00 € sur 439,25 €." in page
    assert "Comment payer" in page and "state-unknown" in page and "Paiement partiel" not in page


def test_get_or_none_is_none_on_404_and_on_the_statuses_a_page_names(web):
    app, _ = web
    app.answer = failing(404)
    with app.test_request_context():
        assert web_client.get_or_none("/api/adhesion/rates/2025-2026") is None
        app.answer = failing(503)
        assert web_client.get_or_none("/api/documents/0382296P00/2025-2026", also=(503,)) is None
        with pytest.raises(ApiFailure):
            web_client.get_or_none("/api/adhesion/rates/2025-2026")
        app.answer = RATES
        assert web_client.get_or_none("/api/adhesion/rates/2025-2026") == RATES


def test_department_name_is_the_row_read_at_login_else_neutral():
    """No table of names in the code: the row's name (read at sign-in), or « OCCE 26 »."""
    app = Flask(__name__)
    app.secret_key = "test"
    with app.test_request_context():
        session.update(department="38", department_name="OCCE de l'Isère")
        assert formatting.department_name("38") == "OCCE de l'Isère"
        assert formatting.department_name("26") == "OCCE 26"
        session.pop("department_name")  # the departments API was unreachable at sign-in
        assert formatting.department_name("38") == "OCCE 38"
    assert formatting.department_name("38") == "OCCE 38"
    assert formatting.department_name(None) == "OCCE"


def test_the_reference_is_there_at_once_before_payment_has_the_dues():
    """Issue 25: right after sending, payment has no dues yet (404): the RF is computed with
    the one rule (shared.payment_reference), not waited for."""
    adhesion = {"amounts": {"total": "439.25"}, "payment": {"transfer": True, "cheque": False, "other": False},
                "checklist": {"amount_paid": "0.00", "amount_due": "439.25", "payment_received": False,
                              "engagement_signed": False, "change_form": "not_required"},
                "department": {"name": "OCCE du Rhône", "iban": "FR7630006000011234567890189"},
                "cooperative": {"number": "0382296P00"}, "year": "2025-2026"}
    steps = pages.next_steps(adhesion, None, True)
    assert steps["reference"] == "RF37 2603 8229 6P00"
    assert steps["iban"] == "FR76 3000 6000 0112 3456 7890 189"


def test_the_late_warning_only_once_the_window_has_closed():
    from datetime import date

    rates = {"renewal_opens": "2025-09-01", "renewal_closes": "2025-10-15"}
    assert pages.late_after(rates, today=date(2025, 10, 15)) is None
    assert pages.late_after(rates, today=date(2025, 10, 16)) == "15/10/2025"
    assert pages.late_after(None, today=date(2025, 10, 16)) is None
