"""Identifiers in the onboarding and cheque schemas match whole: a trailing newline is refused."""
import pytest
from marshmallow import ValidationError

from services.adhesion.schemas import DepartmentIn, StaffIn
from services.payment.schemas import ChequeIn


@pytest.mark.parametrize("schema, body, field", [
    (StaffIn, {"login": "secretariat38\n", "password": "longenough", "department": "38",
               "email": "occe38@example.org"}, "login"),
    (StaffIn, {"login": "secretariat38", "password": "longenough", "department": "38\n",
               "email": "occe38@example.org"}, "department"),
    (DepartmentIn, {"number": "69\n", "name": "OCCE du Rhône", "insurer": "MAE", "contract": "1"}, "number"),
])
def test_trailing_newline_is_refused(schema, body, field):
    with pytest.raises(ValidationError) as error:
        schema().load(body)
    assert field in error.value.messages


def test_cheque_number_matches_whole():
    assert "cheque_number" in ChequeIn().validate(
        {"cooperative": "0382296P00", "year": "2025-2026", "amount": "10.00", "cheque_number": "1234567\n",
         "bank": "CA", "drawer": "Coop"})
