"""The audit log's rules, without database or HTTP: how a record is chained to the one
before it, how the chain is checked, which actions retention may remove, who may read."""
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from shared.errors import Forbidden

GENESIS = "0" * 64
# The sign-in records (CNIL: access logs are kept 6 months to a year); the only records
# retention removes, and the only ones the database lets go (a trigger checks it too).
SIGN_IN_ACTIONS = ("auth.login", "auth.login_failed", "auth.logout")
FIELDS = ("at", "service", "actor", "actor_kind", "department", "action", "target", "details", "address",
          "request_id")


def canonical(seq: int, record: dict) -> bytes:
    """The bytes a record's hash covers: its number and every field, in one fixed form."""
    body = {"seq": seq, **{name: record[name] for name in FIELDS}}
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def chain_hash(previous: str, seq: int, record: dict) -> str:
    return hashlib.sha256(previous.encode() + b"\n" + canonical(seq, record)).hexdigest()


@dataclass(frozen=True)
class Link:
    """One place of the chain as stored: a record (``record`` set) or the tombstone
    retention left for one it removed (``record`` None, its hash kept)."""

    seq: int
    prev_hash: str | None
    hash: str
    record: dict | None


@dataclass(frozen=True)
class Check:
    records: int
    ok: bool
    first_bad: int | None


def verify(links: Iterable[Link], head: tuple[int, str] | None) -> Check:
    """Walk the chain in order: each link follows the one before (no gap), names its hash
    as ``prev_hash``, and its own hash is its content's; the head (last number and hash
    the writer recorded) matches the end, so removing the newest records shows too. The
    first link that fails is named."""
    previous, expected, count = GENESIS, 1, 0
    for link in links:
        if link.seq != expected:
            return Check(count, False, expected)
        if link.record is not None:
            count += 1
            if link.prev_hash != previous or chain_hash(previous, link.seq, link.record) != link.hash:
                return Check(count, False, link.seq)
        previous, expected = link.hash, expected + 1
    last = expected - 1
    if head is not None and (head[0] != last or (last and head[1] != previous)):
        return Check(count, False, last + 1 if head[0] > last else head[0])
    return Check(count, True, None)


def merged(records: Iterator[Link], tombstones: Iterator[Link]) -> Iterator[Link]:
    """Two streams sorted by number, as one."""
    record, tombstone = next(records, None), next(tombstones, None)
    while record is not None or tombstone is not None:
        if tombstone is None or (record is not None and record.seq < tombstone.seq):
            yield record
            record = next(records, None)
        else:
            yield tombstone
            tombstone = next(tombstones, None)


def department_scope(principal, wanted: str | None) -> str | None:
    """The department a listing covers: staff their own only; the national admin the one
    asked for, or all (None); a school nothing."""
    if not principal.is_staff:
        raise Forbidden("Le journal est réservé au personnel de l'OCCE.")
    if principal.national:
        return wanted or None
    if wanted and wanted != principal.department:
        raise Forbidden("Ce journal relève d'un autre département.")
    return principal.department


def ensure_national(principal) -> None:
    if not (principal.is_staff and principal.national):
        raise Forbidden("Réservé à l'administrateur national.")
