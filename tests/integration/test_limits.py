"""Every limit of the contract on both sides: accepted at the limit, refused one past it
(docs/http.md §4, docs/campaign.md §3) — the import's 5,000 lines and 2 MB, a body's
256 KB, the text fields, the counts and the declared amounts. SQLite and PostgreSQL."""
import json

import pytest

from tests.integration.test_adhesion_api import NUMBER, YEAR, school  # noqa: F401 (fixture)
from tests.integration.test_departments import import_file, school_file
from tests.support import GUIDE

ADHESION = f"/api/adhesion/adhesions/{NUMBER}/{YEAR}"
# the contract's figures, written out: a limit lowered in the code must fail here
MAX_LINES = 5000
MAX_BYTES = 2 * 1024 * 1024
MAX_BODY = 256 * 1024


def exactly(size: int, lines: int) -> bytes:
    """An import file of ``lines`` schools and exactly ``size`` bytes: long names, towns and
    mailboxes, then lines of spaces (blank: skipped) to make up the size."""
    rows = ["number;name;town;email"]
    for i in range(1, lines + 1):
        local = f"ce.038{i:04d}x.{'c' * 40}"
        rows.append(f"038{i:04d}X00;{'École ' + 'n' * 190};{'V' * 100};{local}@{'d' * 60}.{'e' * 60}.fr")
    body = ("\r\n".join(rows) + "\r\n").encode()
    missing = size - len(body)
    assert missing >= 2, "too many bytes for the lines asked"
    blank = b" " * 998 + b"\r\n"
    return body + blank * (missing // len(blank)) + b" " * (missing % len(blank) - 2) + b"\r\n"


def test_the_import_takes_5000_lines_and_2_mb_and_refuses_one_more(client, staff):
    at_lines = import_file(client, staff, school_file(MAX_LINES), dry_run=True)
    assert at_lines.status_code == 200, at_lines.json
    assert at_lines.json["created"] == MAX_LINES and at_lines.json["errors"] == []
    assert import_file(client, staff, school_file(MAX_LINES + 1), dry_run=True).status_code == 413

    full = exactly(MAX_BYTES, 4000)
    assert len(full) == 2 * 1024 * 1024
    at_size = import_file(client, staff, full, dry_run=True)
    assert at_size.status_code == 200, at_size.json
    assert at_size.json["created"] == 4000 and at_size.json["errors"] == []
    assert import_file(client, staff, full[:-2] + b"  \r\n", dry_run=True).status_code == 413


def padded(document: dict, size: int) -> bytes:
    """``document`` as JSON of exactly ``size`` bytes (whitespace after it)."""
    text = json.dumps(document).encode()
    return text + b" " * (size - len(text))


def test_a_body_of_256_kb_is_read_and_one_byte_more_is_413(client, school):
    at_limit = client.put(ADHESION, headers=school, data=padded(GUIDE, MAX_BODY), content_type="application/json")
    assert at_limit.status_code == 200, at_limit.json
    over = client.put(ADHESION, headers=school, data=padded({**GUIDE, "insurance": False}, MAX_BODY + 1),
                      content_type="application/json")
    assert over.status_code == 413
    assert client.get(ADHESION, headers=school).json["insurance"] is True  # the refused body changed nothing


ROW = GUIDE["classes"][0]


@pytest.mark.parametrize(("field", "limit", "make"), [
    ("name", 100, lambda n: {**GUIDE, "classes": [{**ROW, "name": "C" * n}]}),
    ("teachers", 500, lambda n: {**GUIDE, "classes": [{**ROW, "teachers": "t" * n}]}),
    ("student_count", 5000, lambda n: {**GUIDE, "classes": [{**ROW, "student_count": n}]}),
    ("teacher_count", 5000, lambda n: {**GUIDE, "classes": [{**ROW, "teacher_count": n}]}),
], ids=lambda value: value if isinstance(value, str) else "")
def test_class_rows_at_their_limit_and_one_past(client, school, field, limit, make):
    at_limit = client.put(ADHESION, headers=school, json=make(limit))
    assert at_limit.status_code == 200, at_limit.json
    saved = at_limit.json["classes"][0][field]
    assert saved == limit or len(saved) == limit
    past = client.put(ADHESION, headers=school, json=make(limit + 1))
    assert past.status_code == 422 and field in past.json["fields"]["classes"]["0"], past.json
    assert client.get(ADHESION, headers=school).json["classes"][0][field] == saved


@pytest.mark.parametrize("field", ["goods_value", "instruments_value"])
def test_declared_amounts_up_to_a_million(client, school, field):
    at_limit = client.put(ADHESION, headers=school, json={**GUIDE, field: "1000000.00"})
    assert at_limit.status_code == 200 and at_limit.json[field] == "1000000.00", at_limit.json
    past = client.put(ADHESION, headers=school, json={**GUIDE, field: "1000000.01"})
    assert past.status_code == 422 and field in past.json["fields"], past.json


def test_a_correction_message_of_2000_characters_and_not_one_more(client, staff, school):
    client.put(ADHESION, headers=school, json=GUIDE)
    assert client.post(f"{ADHESION}/submit", headers=school).status_code == 200
    past = client.post(f"{ADHESION}/request-correction", headers=staff, json={"message": "m" * 2001})
    assert past.status_code == 422 and "message" in past.json["fields"]
    at_limit = client.post(f"{ADHESION}/request-correction", headers=staff, json={"message": "m" * 2000})
    assert at_limit.status_code == 200, at_limit.json
    assert at_limit.json["correction_message"] == "m" * 2000
