"""The cooperative number and school year every service reads in its paths."""
import pytest

from shared.errors import ApiError, checked_path
from shared.identifiers import is_valid_number, is_valid_year, path_problems


@pytest.mark.parametrize("year, valid", [
    ("2025-2026", True), ("2025-2027", False), ("2025", False), ("25-26", False), ("2025/2026", False),
    ("", False), (None, False)])
def test_year_shape(year, valid):
    assert is_valid_year(year) is valid


@pytest.mark.parametrize("number, valid", [
    ("0382296P00", True), ("038229", True), ("0382296p00", False), ("03822", False), ("ABC12", False),
    ("0382296P00-1", False), ("03822-96P00", False), ("A" * 17, False), ("", False), (None, False)])
def test_number_shape(number, valid):
    assert is_valid_number(number) is valid


def test_path_problems_name_each_bad_part():
    assert path_problems("0382296P00", "2025-2026") == {}
    assert set(path_problems("bad", "2025-2027")) == {"number", "year"}
    with pytest.raises(ApiError) as raised:
        checked_path(year="25-26")
    assert raised.value.code == 400 and set(raised.value.data["errors"]) == {"year"}
