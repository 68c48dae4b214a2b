"""Documents rules as plain Python: which documents an adhesion gets, their numbers,
file names and storage keys, and the data the PDF renderer needs.

No Flask, no SQLAlchemy: everything here is unit tested without I/O.
"""
import re
from datetime import date, datetime

from shared.identifiers import is_valid_year

ATTESTATION = "attestation"
CERTIFICATE = "certificate"
KINDS = (ATTESTATION, CERTIFICATE)

PREFIXES = {ATTESTATION: "ATT", CERTIFICATE: "CERT"}
LABELS = {ATTESTATION: "Attestation d'adhésion", CERTIFICATE: "Certificat d'assurance"}
DOWNLOAD_STEMS = {ATTESTATION: "attestation-adhésion", CERTIFICATE: "certificat-assurance"}

NUMBER_RE = re.compile(r"(ATT|CERT)-\d{4}-[0-9A-Z]{2,3}-\d{6}")
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}\Z")
SERIAL_DIGITS = 6


def looks_like_token(token: str) -> bool:
    """A verify token as ``secrets.token_urlsafe`` makes them; anything else is unknown."""
    return bool(TOKEN_RE.match(token or ""))


def kinds_for(insurance: bool) -> tuple[str, ...]:
    """The attestation always; the certificate only when the cooperative is insured."""
    return KINDS if insurance else (ATTESTATION,)


def document_number(kind: str, year: str, department: str, serial: int) -> str:
    """``ATT-2026-38-000042``: kind, the school year's second year, department, serial.

    The serial comes from one sequence per department and school year, so a number is
    never given twice; the attestation and certificate of one issue share it."""
    if not is_valid_year(year):
        raise ValueError(f"school year must look like 2025-2026, got {year!r}")
    if serial < 1:
        raise ValueError("serials start at 1")
    return f"{PREFIXES[kind]}-{year[5:]}-{department}-{serial:0{SERIAL_DIGITS}d}"


def is_document_number(number: str) -> bool:
    return bool(NUMBER_RE.fullmatch(number or ""))


def file_url(number: str) -> str:
    """Where the documents API serves one PDF to other services (the claim check's reference)."""
    return f"/api/documents/files/{number}.pdf"


def serial_of(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


def storage_key(cooperative: str, year: str, kind: str, version: int, sha256: str = "") -> str:
    """Where one rendering of a document is kept. The digest is part of the name, so two
    attempts that render at once never write over each other's file: each writes its own,
    and the transaction that completes the validation records which one is the document
    (the name without a digest is the placeholder of a reservation, and of rows issued
    before names carried one)."""
    stem = f"{year}/{cooperative}/{kind}-v{version}"
    return f"{stem}-{sha256}.pdf" if sha256 else f"{stem}.pdf"


def filename(kind: str, cooperative: str, year: str, version: int) -> str:
    """The name of the emailed attachment: the very name the download gives the file, so the
    school finds one name whichever way it got the PDF."""
    return download_name(kind, cooperative, year, version)


def download_name(kind: str, cooperative: str, year: str, version: int) -> str:
    """The name a browser saves: ``attestation-adhésion-0382296P00-2025-2026.pdf``."""
    suffix = f"-v{version}" if version > 1 else ""
    return f"{DOWNLOAD_STEMS[kind]}-{cooperative}-{year}{suffix}.pdf"


def issued_on(validated_at: datetime, zone=None) -> date:
    """The day printed on the document: the validation day, in ``zone`` (France)."""
    return validated_at.astimezone(zone).date() if zone is not None else validated_at.date()


def cover_start(year: str, paid_on: date | None) -> date:
    """The insurance covers from the later of 1 September and the payment's receipt (the
    guide: « L'adhésion et l'assurance ne sont effectives qu'à la réception du paiement »),
    never past the year's last day."""
    first = date(int(year[:4]), 9, 1)
    if not paid_on:
        return first
    return min(max(first, paid_on), date(int(year[5:]), 8, 31))


def render_input(validated: dict, kind: str, number: str, verify_url: str, day: date) -> dict:
    """The renderer's ``doc`` from an ``adhesion.validated`` event's data."""
    return {
        "document_number": number,
        "verify_url": verify_url,
        "department": validated["department"],
        "cooperative": validated["cooperative"],
        "year": validated["year"],
        "registration_code": validated["registration_code"],
        "totals": validated["totals"],
        "amounts": validated["amounts"],
        "goods_value": validated["goods_value"],
        "instruments_value": validated["instruments_value"],
        "version": validated["version"],
        "issued_on": day,
        "cover_from": cover_start(validated["year"], validated.get("paid_on")),
    }


# -- an issue that keeps failing --------------------------------------------------------
# A store that cannot be written (full, unmounted, read-only) or a rendering that raises
# is retried with the consumers' backoff (1, 2, 4 … 20 s) for DOCUMENTS_GIVE_UP_SECONDS
# (30 minutes, about a hundred attempts) after the documents were reserved: enough for
# an operator to free or remount a volume, not so long that a school waits a day for a
# confirmation nobody knows is stuck. Then the issue is failed on its documents, for
# staff to see and re-issue.
FAILURE_MAX_LENGTH = 500
STORE, RENDERING = "store", "rendering"


class RenderingFailed(Exception):
    """Drawing a PDF raised: retried like a store that cannot be written, then failed."""


def issue_gives_up(reserved_at: datetime, now: datetime, give_up_after_seconds: float) -> bool:
    """Stop retrying the issue of documents reserved at ``reserved_at``: it has failed for
    ``give_up_after_seconds`` since their first attempt (a later delivery of the same
    event, past the bound, tries once more and fails again at once)."""
    return (now - reserved_at).total_seconds() >= give_up_after_seconds


def error_text(exc: BaseException) -> str:
    """``NotADirectoryError: [Errno 20] Not a directory: '…'``: what failed, as it said it."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def failure_text(stage: str, cause: str) -> str:
    """The reason staff read on documents not produced, in French."""
    what = {STORE: "Enregistrement des PDF impossible", RENDERING: "Production des PDF impossible"}[stage]
    advice = "Réparez la cause puis réémettez les documents."
    room = FAILURE_MAX_LENGTH - len(what) - len(advice) - 5
    if len(cause) > room:  # the cause is cut, never what to do
        cause = cause[:room - 1] + "…"
    return f"{what} ({cause}). {advice}"
