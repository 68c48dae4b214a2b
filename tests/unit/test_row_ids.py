"""A row id in a path (``<int:…>`` in every service and the pages) is one spelling of one
number: ASCII digits, no leading zero, 1 to 2³¹−1; anything else matches no route (404)."""
import pytest
from flask import Flask

from shared.service import RowId


@pytest.fixture
def http():
    app = Flask(__name__)
    app.url_map.converters["int"] = RowId

    @app.get("/slips/<int:slip_id>")
    def slip(slip_id):
        return str(slip_id)

    return app.test_client()


@pytest.mark.parametrize("path, answer", [("12", "12"), ("2147483647", "2147483647")])
def test_a_row_id_as_the_service_writes_it(http, path, answer):
    response = http.get(f"/slips/{path}")
    assert response.status_code == 200 and response.text == answer


@pytest.mark.parametrize("path", ["012", "00012", "１２", "٣", "۱۲", "0", "2147483648", "99999999999", "+12", "-1"])
def test_another_spelling_matches_no_route(http, path):
    assert http.get(f"/slips/{path}").status_code == 404
