"""The pages' own logic without a browser: form fields ↔ API JSON, API errors → inputs,
French display of what the APIs answer."""
from datetime import date

from werkzeug.datastructures import MultiDict

from web import forms
from web.formatting import eur, local_date, local_datetime, recent_years, school_year_of


def test_money_typed_the_french_way_reaches_the_api_as_a_decimal_string():
    assert forms.money_value("1 500,50 €") == "1500.50"
    assert forms.money_value("2\u202f000,00") == "2000.00"
    assert forms.money_value("") == "0.00"


def test_posted_rows_are_read_up_to_the_row_count_and_trimmed():
    form = MultiDict({"row_count": "2", "classes-0-name": " CM2 ", "classes-0-student_count": "27",
                      "classes-1-name": "", "classes-2-name": "never read"})
    rows = forms.posted_rows(form)
    assert [row["name"] for row in rows] == ["CM2", ""]
    assert forms.posted_rows(MultiDict({"row_count": "beaucoup"})) == []


def test_api_errors_land_on_the_inputs_of_the_rows_they_came_from():
    # form rows 0 and 2 were sent (row 1 was blank): the API's class 1 is the form's row 2
    fields = {"classes": {"1": {"student_count": ["Nombre entier attendu."]}}, "payment": ["Choisissez."],
              "goods_value": ["Trop grand."]}
    errors = forms.adhesion_errors(fields, origin=[0, 2])
    assert errors == {"classes-2-student_count": ["Nombre entier attendu."], "payment": ["Choisissez."],
                      "goods_value": ["Trop grand."]}


def test_error_summary_follows_the_page_order_and_links_each_field():
    rows = [{"name": "CP"}, {"name": ""}, {"name": "CM2"}]
    summary = forms.error_summary(
        {"goods_value": ["Trop grand."], "classes-2-student_count": ["Nombre entier attendu."], "classes": ["Vide."]},
        rows)
    assert [line["href"] for line in summary] == ["#classes-titre", "#classes-2-student_count", "#goods_value"]
    assert summary[1]["text"] == "Classe 3 (CM2) — Nombre d'élèves : Nombre entier attendu."


def test_flatten_nested_marshmallow_errors():
    assert forms.flatten({"a": {"0": {"b": ["x"]}}, "c": ["y", "z"]}) == {"a.0.b": ["x"], "c": ["y", "z"]}


def test_french_display_of_api_values():
    assert eur("1157.11") == "1 157,11 €"
    assert eur("not a number") == "—"
    assert local_date("2025-09-12") == "12/09/2025"
    assert local_datetime("2025-09-12T12:03:00+00:00") == "12/09/2025 à 14:03"  # Paris, summer time


def test_school_year_turns_on_the_first_of_september():
    assert school_year_of(date(2025, 8, 31)) == "2024-2025"
    assert school_year_of(date(2025, 9, 1)) == "2025-2026"
    assert recent_years("2025-2026", before=1, after=1) == ["2026-2027", "2025-2026", "2024-2025"]
