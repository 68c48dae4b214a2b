"""The one CSV writer of every export (shared/csv_export.py): French Excel's format, texts
a spreadsheet would evaluate neutralised, the export's own amounts left as numbers."""
import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pytest

from shared.csv_export import cell, csv_bytes, text_cell

D = Decimal


@pytest.mark.parametrize("text", ['=HYPERLINK("http://exemple.invalid";"x")', "+1+1", "@SUM(1)", "-2+3",
                                  "\t=1+1", "\r=1+1", "=", "-", "  =1+1", "\u00a0@SUM(1)", "-2,50", "-3", "+33"])
def test_a_text_a_spreadsheet_would_evaluate_starts_with_a_quote(text):
    assert text_cell(text) == "'" + text
    assert cell(text) == "'" + text  # a text that looks like an amount is still a text


@pytest.mark.parametrize("text", ["", "Coopérative scolaire", "École 2+2", "a=b", "26/0001 A", "0382296P00",
                                  "ce.0382296p@ac-grenoble.fr", "'=déjà", "2,50"])
def test_other_texts_are_written_as_they_are(text):
    assert text_cell(text) == text


def test_amounts_and_counts_the_export_writes_stay_numbers():
    assert [cell(v) for v in (D("-2.50"), D("-3"), D("1200.00"), D("0.00"), D("1E+2"), 175, -3, 0, None)] == [
        "-2,50", "-3", "1200,00", "0,00", "100", "175", "-3", "0", ""]
    assert cell(date(2026, 8, 31)) == cell(datetime(2026, 8, 31, 12)) == "31/08/2026"
    for wrong in (True, 2.5):
        with pytest.raises(TypeError):
            cell(wrong)


def test_the_file_opens_in_french_excel():
    data = csv_bytes(["Libellé", "Montant"], [["=1+1 ; x", D("-2.50")], ['Dit "bonjour"', D("3.00")]])
    assert data.startswith("\ufeff".encode())
    text = data.decode("utf-8-sig")
    assert text.endswith("\r\n") and text.count("\r\n") == 3
    assert list(csv.reader(io.StringIO(text), delimiter=";")) == [
        ["Libellé", "Montant"], ["'=1+1 ; x", "-2,50"], ['Dit "bonjour"', "3,00"]]
