"""The audit chain's rules without a database: each link names the previous hash and its
own content's; an edit, a gap, a removed tail or a forged tombstone is named."""
import pytest

from services.audit import domain
from shared.audit import plain
from shared.auth import Principal


def record(i: int) -> dict:
    return {"at": f"2025-09-15T08:{i:02d}:00+00:00", "service": "payment", "actor": "compta38", "actor_kind": "staff",
            "department": "38", "action": "payment.recorded", "target": "0382296P00",
            "details": {"amount": f"{i}.00"}, "address": "192.0.2.1", "request_id": f"{i:032x}"}


def chain(count: int) -> list[domain.Link]:
    links, previous = [], domain.GENESIS
    for seq in range(1, count + 1):
        digest = domain.chain_hash(previous, seq, record(seq))
        links.append(domain.Link(seq, previous, digest, record(seq)))
        previous = digest
    return links


def head(links):
    return (links[-1].seq, links[-1].hash)


def test_an_intact_chain_checks():
    links = chain(5)
    assert domain.verify(iter(links), head(links)) == domain.Check(5, True, None)
    assert domain.verify(iter([]), (0, domain.GENESIS)) == domain.Check(0, True, None)


def test_an_edited_record_is_named():
    links = chain(5)
    edited = {**record(3), "details": {"amount": "1000.00"}}
    links[2] = domain.Link(3, links[2].prev_hash, links[2].hash, edited)
    assert domain.verify(iter(links), head(links)).first_bad == 3


def test_a_gap_and_a_removed_tail_are_named():
    links = chain(5)
    assert domain.verify(iter(links[:2] + links[3:]), head(links)).first_bad == 3
    assert domain.verify(iter(links[:4]), head(links)).first_bad == 5


def test_a_tombstone_keeps_the_chain_and_a_forged_one_does_not():
    links = chain(5)
    tomb = domain.Link(2, None, links[1].hash, None)
    assert domain.verify(domain.merged(iter([links[0], *links[2:]]), iter([tomb])), head(links)).ok
    forged = domain.Link(2, None, "f" * 64, None)
    assert domain.verify(domain.merged(iter([links[0], *links[2:]]), iter([forged])), head(links)).first_bad == 3


def test_who_reads_which_department():
    national = Principal("admin", "staff", "38", national=True)
    staff = Principal("compta38", "staff", "38")
    assert domain.department_scope(national, None) is None and domain.department_scope(national, "69") == "69"
    assert domain.department_scope(staff, None) == "38"
    with pytest.raises(Exception, match="autre département"):
        domain.department_scope(staff, "69")
    with pytest.raises(Exception, match="réservé"):
        domain.department_scope(Principal("0382296P00", "school", "38", "0382296P00"), None)


def test_details_refuse_names_mailboxes_and_secrets():
    from decimal import Decimal

    assert plain({"amount": Decimal("439.25"), "paid": {"before": Decimal("0"), "after": Decimal("1.5")}}) == {
        "amount": "439.25", "paid": {"before": "0", "after": "1.5"}}
    for key in ("name", "email", "password", "token", "teachers"):
        with pytest.raises(ValueError, match=key):
            plain({"year": "2025-2026", key: "x"})
