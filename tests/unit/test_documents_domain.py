"""Documents rules and the local store (no database, no broker)."""
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader

from services.documents import domain
from services.documents.rendering import render_attestation
from services.documents.storage import LocalStorage

VALIDATED = {
    "cooperative": {"number": "0382296P00", "name": "Coopérative Scolaire Jean Moulin", "town": "VIENNE",
                    "email": "ce.0382296p@ac-grenoble.fr", "department": "38"},
    "department": {"code": "38", "name": "OCCE de l'Isère", "insurer": "MAE – MAIF", "insurer_contract": ""},
    "year": "2025-2026",
    "revision": 4,
    "registration_code": "26/0001 A",
    "version": 2,
    "validated_at": "2025-09-30T22:15:00+00:00",
    "totals": {"teachers": 10, "students": 165, "cooperators": 175},
    "amounts": {"membership": "395.50", "insurance": "43.75", "goods": "0.00", "instruments": "0.00",
                "total": "439.25"},
    "amount_paid": "439.25",
    "insurance": True,
    "goods_value": "0.00",
    "instruments_value": "0.00",
}


def test_attestation_always_certificate_only_when_insured():
    assert domain.kinds_for(True) == ("attestation", "certificate")
    assert domain.kinds_for(False) == ("attestation",)


def test_document_numbers():
    assert domain.document_number("attestation", "2025-2026", "38", 42) == "ATT-2026-38-000042"
    assert domain.document_number("certificate", "2025-2026", "38", 42) == "CERT-2026-38-000042"
    assert domain.document_number("attestation", "2030-2031", "2A", 1234567) == "ATT-2031-2A-1234567"
    assert domain.serial_of("CERT-2026-38-000042") == 42
    with pytest.raises(ValueError):
        domain.document_number("attestation", "2025-2027", "38", 1)
    with pytest.raises(ValueError):
        domain.document_number("attestation", "2025-2026", "38", 0)


def test_storage_key_names_the_version_and_file_names_are_french():
    assert domain.storage_key("0382296P00", "2025-2026", "attestation", 1) == "2025-2026/0382296P00/attestation-v1.pdf"
    assert domain.storage_key("0382296P00", "2025-2026", "attestation", 1, "ab12") == (
        "2025-2026/0382296P00/attestation-v1-ab12.pdf")
    assert domain.storage_key("0382296P00", "2025-2026", "attestation", 2) != domain.storage_key(
        "0382296P00", "2025-2026", "attestation", 1)
    assert domain.filename("attestation", "0382296P00", "2025-2026", 1) == "attestation-adhésion-0382296P00-2025-2026.pdf"
    assert domain.filename("certificate", "0382296P00", "2025-2026", 2) == (
        "certificat-assurance-0382296P00-2025-2026-v2.pdf")
    # the attachment of the email and the download carry one name
    assert domain.filename("certificate", "0382296P00", "2025-2026", 1) == domain.download_name(
        "certificate", "0382296P00", "2025-2026", 1)
    assert domain.download_name("certificate", "0382296P00", "2025-2026", 1) == (
        "certificat-assurance-0382296P00-2025-2026.pdf")


def test_verify_token_shape():
    assert domain.looks_like_token("Xy3kP9qLmN0aBcDeFgHiJkLmNoPqRsTu")
    for bad in ("short", "with space in it, long enough", "../../../../etc/passwd", "x" * 65):
        assert not domain.looks_like_token(bad)


def test_issued_on_is_the_french_day_of_validation():
    moment = datetime.fromisoformat("2025-09-30T22:15:00+00:00")
    assert domain.issued_on(moment, ZoneInfo("Europe/Paris")) == date(2025, 10, 1)
    assert domain.issued_on(moment) == date(2025, 9, 30)


@pytest.mark.parametrize("paid_on, start", [
    (None, date(2025, 9, 1)),  # payment date unknown: the year's first day
    (date.fromisoformat("2025-06-20"), date(2025, 9, 1)),  # paid before the year: from 1 September
    (date.fromisoformat("2025-09-01"), date(2025, 9, 1)),
    (date.fromisoformat("2025-10-14"), date(2025, 10, 14)),  # paid later: effective only from the receipt
    (date.fromisoformat("2026-09-03"), date(2026, 8, 31)),  # never past the year
])
def test_cover_starts_at_the_later_of_1_september_and_the_payment(paid_on, start):
    assert domain.cover_start("2025-2026", paid_on) == start
    validated = {**VALIDATED, "paid_on": paid_on}
    doc = domain.render_input(validated, "certificate", "CERT-2026-38-000001", "http://x/verify/abc", date(2025, 10, 1))
    assert doc["cover_from"] == start


def test_render_input_feeds_the_renderer():
    doc = domain.render_input(VALIDATED, "attestation", "ATT-2026-38-000001", "http://x/verify/abc", date(2025, 10, 1))
    assert doc["document_number"] == "ATT-2026-38-000001" and doc["version"] == 2
    text = " ".join(PdfReader(io.BytesIO(render_attestation(doc))).pages[0].extract_text().split())
    for expected in ("ATT-2026-38-000001", "Total 439,25 €", "Version 2", "Fait le 1er octobre 2025"):
        assert expected in text, expected


def test_local_storage_put_get_overwrite(tmp_path):
    store = LocalStorage(tmp_path / "documents")
    assert store.get("2025-2026/0382296P00/attestation-v1.pdf") is None
    store.put("2025-2026/0382296P00/attestation-v1.pdf", b"%PDF-first")
    store.put("2025-2026/0382296P00/attestation-v1.pdf", b"%PDF-second")
    assert store.get("2025-2026/0382296P00/attestation-v1.pdf") == b"%PDF-second"
    # the temporary file is renamed over the target: nothing is left beside it
    assert [p.name for p in (tmp_path / "documents/2025-2026/0382296P00").iterdir()] == ["attestation-v1.pdf"]


@pytest.mark.parametrize("key", ["../escape.pdf", "/etc/passwd", "a/../../b.pdf", "", "./a.pdf", "a//b.pdf"])
def test_local_storage_refuses_keys_outside_its_root(tmp_path, key):
    with pytest.raises(ValueError):
        LocalStorage(tmp_path).put(key, b"x")


def test_an_issue_is_given_up_once_its_bound_has_passed_since_the_reservation():
    reserved = datetime(2025, 9, 15, 8, 30, tzinfo=ZoneInfo("UTC"))
    seconds = 1800
    assert not domain.issue_gives_up(reserved, reserved, seconds)
    assert not domain.issue_gives_up(reserved, reserved + timedelta(seconds=1799), seconds)
    assert domain.issue_gives_up(reserved, reserved + timedelta(seconds=1800), seconds)
    assert domain.issue_gives_up(reserved, reserved + timedelta(days=2), seconds)  # a delivery long after


def test_the_failure_staff_read_says_what_and_what_to_do_in_french():
    store = domain.failure_text(domain.STORE, domain.error_text(OSError(28, "No space left on device")))
    assert store == ("Enregistrement des PDF impossible (OSError: [Errno 28] No space left on device). "
                     "Réparez la cause puis réémettez les documents.")
    assert domain.failure_text(domain.RENDERING, "ATT-2026-38-000001 : KeyError").startswith(
        "Production des PDF impossible (ATT-2026-38-000001 : KeyError)")
    assert domain.error_text(KeyError()) == "KeyError"
    long = domain.failure_text(domain.STORE, "x" * 2000)
    assert len(long) == domain.FAILURE_MAX_LENGTH and long.endswith("…). Réparez la cause puis réémettez les documents.")
