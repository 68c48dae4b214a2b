"""The adhesion form's own checks and estimate (no I/O): a count is never silently a 0, and
the amounts beside a refusal are the API's arithmetic on the typed figures."""
from decimal import Decimal

from flask import Flask, session
from werkzeug.datastructures import MultiDict

from web import formatting, forms, pages

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


def test_estimate_of_the_typed_figures_matches_the_guide():
    saved = {"status": "draft", "amounts": {}, "totals": {}}
    state = {"rows": [row("ECOLE ENTIERE", "", "10", "165"), row("CE1", "", "1", "2O")],
             "insurance": True, "goods_value": "2 500,00", "instruments_value": ""}
    shown = pages.estimated(saved, state, RATES)
    assert shown["totals"] == {"teachers": 11, "students": 165, "cooperators": 176}  # « 2O » counts for nothing
    assert shown["amounts"]["membership"] == Decimal("397.76")
    assert shown["amounts"]["insurance"] == Decimal("44.00")
    assert shown["amounts"]["goods"] == Decimal("3.44")  # (2500 − 2000) × 0,00688
    assert shown["amounts"]["total"] == Decimal("445.20")
    assert pages.estimated(saved, {**state, "insurance": False}, RATES)["amounts"]["total"] == Decimal("397.76")


def test_next_steps_partial_payment_from_the_payment_service():
    adhesion = {"amounts": {"total": "439.25"}, "payment": {"transfer": False, "cheque": True, "other": False},
                "checklist": {"amount_paid": "0.00", "amount_due": "439.25", "engagement_signed": False,
                              "change_form": "not_required"},
                "late": True, "department": {"name": "OCCE de l'Isère", "payee": "OCCE 38"}}
    dues = {"status": "partial", "amount_paid": "200.00", "amount_due": "439.25", "balance": "239.25",
            "reference_display": "RF80 2603 8001 5E00"}
    steps = pages.next_steps(adhesion, dues)
    assert steps["payment"] == {"status": "partial", "paid": "200,00 €", "due": "439,25 €", "balance": "239,25 €"}
    assert steps["ways"] == ["cheque"] and steps["reference"] == "RF80 2603 8001 5E00" and steps["late"]
    assert pages.next_steps(adhesion, None)["payment"]["status"] == "unpaid"  # payment unreachable: the copy


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
