import hashlib
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from services.notify import domain

COOPERATIVE = {"number": "0382296P00", "name": "École Jean Moulin", "town": "VIENNE",
               "email": "ce.0382296p@ac-grenoble.fr", "department": "38"}
DEPARTMENT = {"code": "38", "name": "OCCE de l'Isère", "insurer": "MAE – MAIF", "insurer_contract": "123"}
PDF = b"%PDF-1.4\n%%EOF\n"


def submitted(**extra):
    data = {"cooperative": COOPERATIVE, "department": DEPARTMENT, "year": "2025-2026", "revision": 3,
            "amount_due": Decimal("439.25"), "insurance": True, "payment": {"transfer": False, "cheque": True, "other": False}}
    return {**data, **extra}


def generated(**extra):
    data = {"cooperative": COOPERATIVE, "department": DEPARTMENT, "year": "2025-2026", "registration_code": "26/0001 A",
            "version": 2, "insurance": False, "amount_paid": Decimal("439.25"),
            "documents": [{"kind": "attestation", "number": "ATT-1", "filename": "attestation-0382296P00-2025-2026.pdf",
                           "url": "/api/documents/files/ATT-1.pdf", "size": len(PDF),
                           "sha256": hashlib.sha256(PDF).hexdigest()}]}
    return {**data, **extra}


def test_keys_and_message_ids_are_stable_per_kind():
    assert domain.message_key("validation_confirmation", "0382296P00", "2025-2026", 1) == \
        "validation_confirmation:0382296P00:2025-2026:v1"
    assert domain.message_key("submission_ack", "0382296P00", "2025-2026", 4) == "submission_ack:0382296P00:2025-2026:r4"
    assert domain.message_key("correction_requested", "0382296P00", "2025-2026", 5) == \
        "correction_requested:0382296P00:2025-2026:r5"
    assert domain.message_id("validation_confirmation", "0382296P00", "2025-2026", 1) == \
        "<validation-0382296P00-2025-2026-v1@retkoop.local>"
    assert domain.message_id("submission_ack", "0382296P00", "2025-2026", 4) == \
        "<submission-0382296P00-2025-2026-r4@retkoop.local>"
    assert domain.message_id("correction_requested", "0382296P00", "2025-2026", 5) == \
        "<correction-0382296P00-2025-2026-r5@retkoop.local>"


def test_submission_ack_from_event():
    email = domain.email_for("adhesion.submitted", submitted())
    assert (email.kind, email.key, email.to, email.department, email.sequence) == (
        "submission_ack", "submission_ack:0382296P00:2025-2026:r3", "ce.0382296p@ac-grenoble.fr", "38", 3)
    assert email.context["amount_due"] == Decimal("439.25")
    assert email.context["payment"]["cheque"] is True
    assert email.attachments == []


def test_correction_carries_the_staff_message():
    data = {"cooperative": COOPERATIVE, "department": DEPARTMENT, "year": "2025-2026", "revision": 7,
            "message": "Merci de préciser le nombre d'élèves."}
    email = domain.email_for("adhesion.correction_requested", data)
    assert email.kind == "correction_requested" and email.sequence == 7
    assert email.context["message"] == "Merci de préciser le nombre d'élèves."


def test_confirmation_keyed_by_version_with_pdfs_to_fetch():
    email = domain.email_for("documents.generated", generated())
    assert email.key == "validation_confirmation:0382296P00:2025-2026:v2"
    assert email.message_id == "<validation-0382296P00-2025-2026-v2@retkoop.local>"
    assert email.attachments == []  # the event carries claim checks, not PDFs
    assert email.claims == [domain.Claim("attestation-0382296P00-2025-2026.pdf", "/api/documents/files/ATT-1.pdf",
                                         len(PDF), hashlib.sha256(PDF).hexdigest())]
    assert email.context["amount_paid"] == Decimal("439.25") and email.context["registration_code"] == "26/0001 A"


@pytest.mark.parametrize("event_type, data", [
    ("payment.received", submitted()),
    ("adhesion.submitted", {"year": "2025-2026"}),
    ("adhesion.submitted", submitted(cooperative={**COOPERATIVE, "email": ""})),
    ("documents.generated", generated(documents=[{"filename": "a.pdf", "url": "/api/documents/files/a.pdf"}])),
    ("documents.generated", generated(documents=[])),
])
def test_malformed_events_are_refused(event_type, data):
    with pytest.raises(domain.InvalidEvent):
        domain.email_for(event_type, data)


def test_outdated_events_are_stale():
    assert domain.is_stale(3, [4])
    assert not domain.is_stale(5, [3, 4])
    assert not domain.is_stale(1, [])


def test_gives_up_after_a_day():
    queued = datetime(2025, 9, 10, 8, 0, tzinfo=timezone.utc)
    assert not domain.gives_up(queued, queued + timedelta(hours=23, minutes=59))
    assert domain.gives_up(queued, queued + timedelta(hours=24))


def test_only_bulk_sends_go_in_the_bulk_lane():
    # issue 25: an import's 595 invitations held a « saisie reçue » 4 min 44 s; a direct
    # debit's pre-notification goes to every school of a collection date at once, a CRF
    # reminder to every school of a round
    assert {kind for kind, lane in domain.LANES.items() if lane == domain.BULK} == {
        "renewal_reminder", "invitation", "direct_debit_notice", "crf_reminder"}
    assert set(domain.LANES) == set(domain.KINDS)


def test_bulk_pace_is_per_department():
    slots = {}
    # 2 a second: the first goes now, the next two of department 38 half a second apart
    assert [domain.pace(slots, "38", 2, 10.0) for _ in range(3)] == [0.0, 0.5, 1.0]
    assert domain.pace(slots, "69", 2, 10.0) == 0.0  # another department is not held back by 38
    assert domain.pace(slots, "38", 2, 20.0) == 0.0  # an idle department starts again at once
    assert domain.pace({}, "38", 0, 10.0) == 0.0  # 0: not paced


def test_a_reminder_is_skipped_when_no_longer_due():
    now = datetime(2025, 9, 15, 10, tzinfo=timezone.utc)
    assert domain.reminder_skip_reason(False, False, None, now) is None
    assert "désactivée" in domain.reminder_skip_reason(True, False, None, now)
    assert "adhésion a été envoyée" in domain.reminder_skip_reason(False, True, None, now)
    assert "moins de 20 heures" in domain.reminder_skip_reason(False, False, now - timedelta(hours=19), now)
    assert domain.reminder_skip_reason(False, False, now - timedelta(hours=21), now) is None


def test_a_reversal_by_staff_is_one_transactional_email_per_reversal():
    from contracts.payment import REVERSED

    data = REVERSED.typed(REVERSED.example)
    email = domain.email_for("payment.reversed", data)
    assert (email.kind, email.key, email.to) == (
        "payment_reversed", "payment_reversed:0382296P00:2025-2026:p57", "ce.0382296p@ac-grenoble.fr")
    assert domain.LANES[email.kind] == domain.TRANSACTIONAL
    assert email.context["balance"] == Decimal("439.25") and email.context["reason"] == "Chèque impayé"
    # another reversal of the same school is its own email
    assert domain.email_for("payment.reversed", {**data, "sequence": 58}).key.endswith(":p58")
    with pytest.raises(domain.InvalidEvent):
        domain.email_for("payment.reversed", {**data, "cooperative": {**data["cooperative"], "email": ""}})
