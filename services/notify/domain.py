"""Which email an event asks for, under which stable key and Message-ID, and how long
sending is retried. Plain Python: no Flask, no SQLAlchemy, no network.

One event gives one email at most. The key (``validation_confirmation:0382296P00:2025-2026:v1``)
is unique in the log, so a re-delivered or re-published event never makes a second email;
the Message-ID is derived from the same parts, so even a resend after a crash between the
SMTP answer and the commit reads as the same message to the receiving side.
"""
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SUBMISSION_ACK = "submission_ack"
CORRECTION_REQUESTED = "correction_requested"
VALIDATION_CONFIRMATION = "validation_confirmation"
RENEWAL_REMINDER = "renewal_reminder"
INVITATION = "invitation"
PASSWORD_RESET = "password_reset"
# direct debit (docs/sepa.md): the pre-notification, and a return told to the school and to staff
DEBIT_NOTICE = "direct_debit_notice"
DEBIT_RETURNED = "direct_debit_returned"
DEBIT_RETURNED_STAFF = "direct_debit_returned_staff"
DEBIT_KINDS = (DEBIT_NOTICE, DEBIT_RETURNED, DEBIT_RETURNED_STAFF)
# a payment staff reversed (a cheque returned unpaid, a transfer rejected, a typing error)
PAYMENT_REVERSED = "payment_reversed"
# the compte rendu financier (docs/ledger.md#6)
CRF_ACK = "crf_ack"
CRF_RETURNED = "crf_returned"
CRF_REMINDER = "crf_reminder"
CRF_KINDS = (CRF_ACK, CRF_RETURNED, CRF_REMINDER)
KINDS = (SUBMISSION_ACK, CORRECTION_REQUESTED, VALIDATION_CONFIRMATION, RENEWAL_REMINDER, INVITATION, PASSWORD_RESET,
         *DEBIT_KINDS, PAYMENT_REVERSED, *CRF_KINDS)
LINK_KINDS = (INVITATION, PASSWORD_RESET)

KIND_OF_EVENT = {
    "adhesion.submitted": SUBMISSION_ACK,
    "adhesion.correction_requested": CORRECTION_REQUESTED,
    "documents.generated": VALIDATION_CONFIRMATION,
    "adhesion.reminder_due": RENEWAL_REMINDER,
    "cooperative.invited": INVITATION,
    "password_reset.requested": PASSWORD_RESET,
    "payment.direct_debit_notified": DEBIT_NOTICE,
    "payment.direct_debit_returned": DEBIT_RETURNED,
    "payment.direct_debit_return_for_staff": DEBIT_RETURNED_STAFF,
    "payment.reversed": PAYMENT_REVERSED,
    "ledger.crf_submitted": CRF_ACK,
    "ledger.crf_returned": CRF_RETURNED,
    "ledger.crf_reminder_due": CRF_REMINDER,
}

QUEUED = "queued"
SENT = "sent"
FAILED = "failed"
# a reminder no longer due when its turn came (the school sent its adhesion, was
# validated or deactivated since the round started, or was reminded a moment ago)
SKIPPED = "skipped"
STATUSES = (QUEUED, SENT, FAILED, SKIPPED)

# Mail lanes: bulk mail (reminder rounds and invitations, hundreds at once, paced) never
# queues in front of one-to-one mail (a school waiting for its confirmation, a correction
# request, a lost password): issue 25 saw a « saisie reçue » wait 4 min 44 s behind 595
# invitations.
TRANSACTIONAL = "transactional"
BULK = "bulk"
LANES = {SUBMISSION_ACK: TRANSACTIONAL, CORRECTION_REQUESTED: TRANSACTIONAL,
         VALIDATION_CONFIRMATION: TRANSACTIONAL, INVITATION: BULK, PASSWORD_RESET: TRANSACTIONAL,
         RENEWAL_REMINDER: BULK, DEBIT_NOTICE: BULK, DEBIT_RETURNED: TRANSACTIONAL,
         DEBIT_RETURNED_STAFF: TRANSACTIONAL, PAYMENT_REVERSED: TRANSACTIONAL, CRF_ACK: TRANSACTIONAL, CRF_RETURNED: TRANSACTIONAL, CRF_REMINDER: BULK}
# Emails whose message carries PDFs: sent again only with them (« Renvoyer » refuses one without).
NEEDS_DOCUMENTS = (VALIDATION_CONFIRMATION,)
# Kinds whose presence in the log says the school renewed for the year: a reminder still
# queued for it is not sent.
RENEWED_KINDS = (SUBMISSION_ACK, CORRECTION_REQUESTED, VALIDATION_CONFIRMATION)
# However rounds overlap (a round by hand during a scheduled one), a school gets at most
# one reminder in this long.
REMINDER_GAP = timedelta(hours=20)

MESSAGE_ID_DOMAIN = "retkoop.local"
# key part and Message-ID part of each kind; the sequence is the adhesion's revision
# ("r3") for acknowledgements and corrections, the validation's version ("v1") for
# confirmations, the staff's reminder round ("round2") for renewal reminders
_PARTS = {
    SUBMISSION_ACK: ("submission", "r"),
    CORRECTION_REQUESTED: ("correction", "r"),
    VALIDATION_CONFIRMATION: ("validation", "v"),
    RENEWAL_REMINDER: ("reminder", "round"),
    INVITATION: ("invitation", "n"),  # nth link of the login
    PASSWORD_RESET: ("password-reset", "n"),
    DEBIT_NOTICE: ("debit-notice", "n"),  # the collection's nth email (payment's sequence)
    DEBIT_RETURNED: ("debit-returned", "n"),
    DEBIT_RETURNED_STAFF: ("debit-returned-staff", "n"),
    PAYMENT_REVERSED: ("payment-reversed", "p"),  # the reversal's payment id
    CRF_ACK: ("crf", "s"),  # the nth submission of the exercise's CRF
    CRF_RETURNED: ("crf-returned", "n"),
    CRF_REMINDER: ("crf-reminder", "round"),
}
# kinds whose sequences are compared to find a stale event: acknowledgements and
# correction requests share the adhesion's revision, confirmations have their versions
STREAMS = {
    SUBMISSION_ACK: (SUBMISSION_ACK, CORRECTION_REQUESTED),
    CORRECTION_REQUESTED: (SUBMISSION_ACK, CORRECTION_REQUESTED),
    VALIDATION_CONFIRMATION: (VALIDATION_CONFIRMATION,),
    RENEWAL_REMINDER: (RENEWAL_REMINDER,),
    INVITATION: (),  # every link is its own email: none is ever stale
    PASSWORD_RESET: (),
    DEBIT_NOTICE: (),  # every collection and amount is its own notice
    DEBIT_RETURNED: (),
    DEBIT_RETURNED_STAFF: (),
    PAYMENT_REVERSED: (),  # every reversal is its own email
    CRF_ACK: (), CRF_RETURNED: (), CRF_REMINDER: (),  # each its own email
}

# Transient SMTP failures are retried with the consumers' backoff (1, 2, 4 … 20 s, with
# jitter) until the message is this old, then the log says ``failed``.
GIVE_UP_AFTER = timedelta(hours=24)
ERROR_MAX_LENGTH = 1000
# A claim the documents API does not honour (404, another digest) is tried this many
# times (about a minute with the backoff), then the confirmation is failed for staff, who
# re-issue the documents from the email log.
CLAIM_ATTEMPTS = 6


class InvalidEvent(ValueError):
    """The event lacks what its email needs: retrying the same data cannot help."""


@dataclass(frozen=True)
class Claim:
    """A PDF to attach, still with its owner: fetched from the documents API, checked
    against its size and SHA-256 before it goes into a message."""

    filename: str
    url: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Email:
    """What one event asks to send, before composition."""

    kind: str
    key: str
    message_id: str
    cooperative: str
    department: str
    year: str
    sequence: int
    to: str
    context: dict
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    batch_total: int | None = None  # a reminder: how many its round reminds
    claims: list[Claim] = field(default_factory=list)  # attachments to fetch before composing


def message_key(kind: str, cooperative: str, year: str, sequence: int) -> str:
    """The log's unique key: one email per kind, cooperative, year and revision/version."""
    return f"{kind}:{cooperative}:{year}:{_PARTS[kind][1]}{sequence}"


def message_id(kind: str, cooperative: str, year: str, sequence: int) -> str:
    """The stable Message-ID, e.g. ``<validation-0382296P00-2025-2026-v1@retkoop.local>``."""
    word, prefix = _PARTS[kind]
    return f"<{word}-{cooperative}-{year}-{prefix}{sequence}@{MESSAGE_ID_DOMAIN}>"


def filed_email(kind: str, name: str, year: str, sequence: int, **rest) -> Email:
    """An email filed under ``name`` (a cooperative number, or a login): its log key and
    its Message-ID come from the same parts."""
    return Email(kind=kind, key=message_key(kind, name, year, sequence),
                 message_id=message_id(kind, name, year, sequence), year=year, sequence=sequence, **rest)


def email_for(event_type: str, data: dict) -> Email:
    """The email an event asks for, with the templates' context; ``data`` as its contract
    loads it (typed: Decimals, dates)."""
    kind = KIND_OF_EVENT.get(event_type)
    if kind is None:
        raise InvalidEvent(f"no email for event {event_type!r}")
    if kind in LINK_KINDS:
        return _link_email(kind, event_type, data)
    if kind in DEBIT_KINDS:
        return _debit_email(kind, event_type, data)
    if kind in CRF_KINDS:
        return _crf_email(kind, event_type, data)
    if kind == PAYMENT_REVERSED:
        return _reversal_email(event_type, data)
    try:
        cooperative = data["cooperative"]
        number, year = cooperative["number"], data["year"]
        sequence = (
            data["version"] if kind == VALIDATION_CONFIRMATION
            else data["round"] if kind == RENEWAL_REMINDER
            else data["revision"]
        )
        context = {
            "cooperative": cooperative,
            "department": data["department"],
            "year": year,
            "insurance": bool(data.get("insurance", False)),
        }
        claims = []
        if kind == SUBMISSION_ACK:
            context.update(amount_due=data["amount_due"], payment=data["payment"])
        elif kind == CORRECTION_REQUESTED:
            context["message"] = data["message"]
        elif kind == RENEWAL_REMINDER:  # the department's own window (absent from older events)
            context.update(renewal_opens=data.get("renewal_opens"), renewal_closes=data.get("renewal_closes"))
        else:
            context.update(registration_code=data["registration_code"], amount_paid=data["amount_paid"])
            claims = [
                Claim(document["filename"], document["url"], document["size"], document["sha256"])
                for document in data["documents"]
            ]
            if not claims:
                raise ValueError("a confirmation without documents")
        to = cooperative["email"]
        department = data["department"]["code"]
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise InvalidEvent(f"{event_type}: {type(exc).__name__}: {exc}") from exc
    if not to:
        raise InvalidEvent(f"{event_type}: cooperative {number} has no email address")
    return filed_email(kind, number, year, sequence, cooperative=number, department=department, to=to,
                       context=context, claims=claims,
                       batch_total=data.get("round_size") if kind == RENEWAL_REMINDER else None)


def _link_email(kind: str, event_type: str, data: dict) -> Email:
    """An invitation or a reset link: filed under the login (a staff member has no
    cooperative), one email per link."""
    try:
        login, year, sequence, to = data["login"], data["year"], data["sequence"], data["to"]
        cooperative = data.get("cooperative")
        context = {"cooperative": cooperative, "department": data["department"], "year": year,
                   "sealed_link": data["sealed_link"], "login": login,
                   "reason": data.get("reason", "")}
        department = data["department"]["code"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidEvent(f"{event_type}: {type(exc).__name__}: {exc}") from exc
    if not to:
        raise InvalidEvent(f"{event_type}: login {login} has no email address")
    # logins of staff run to 100 characters: a digest keeps the key within its column
    name = login if len(login) <= 40 else hashlib.sha256(login.encode()).hexdigest()[:24]
    return filed_email(kind, name, year, sequence, cooperative=cooperative["number"] if cooperative else "",
                       department=department, to=to, context=context)


def _debit_email(kind: str, event_type: str, data: dict) -> Email:
    """A direct debit's notice or return: to the school, or (the staff copy of a return)
    to the department's mailbox."""
    try:
        cooperative, year = data["cooperative"], data["year"]
        context = {"cooperative": cooperative, "department": data["department"], "year": year,
                   **{key: data[key] for key in ("amount", "collection_date", "rum", "ics", "creditor_name",
                                                 "end_to_end_id")},
                   "reason": data.get("reason", ""), "reason_code": data.get("reason_code", ""),
                   "validated": bool(data.get("validated"))}
        to = data["staff_email"] if kind == DEBIT_RETURNED_STAFF else cooperative["email"]
        department = data["department"]["code"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidEvent(f"{event_type}: {type(exc).__name__}: {exc}") from exc
    if not to:
        raise InvalidEvent(f"{event_type}: no address for {kind} of {cooperative['number']}")
    return filed_email(kind, cooperative["number"], year, data["sequence"], cooperative=cooperative["number"],
                       department=department, to=to, context=context)


def _reversal_email(event_type: str, data: dict) -> Email:
    """A payment staff reversed: what was cancelled, why, what remains to pay and how."""
    try:
        cooperative, year = data["cooperative"], data["year"]
        number, to = cooperative["number"], cooperative["email"]
        context = {"cooperative": cooperative, "department": data["department"], "year": year,
                   **{key: data[key] for key in ("amount", "method", "received_on", "reason", "amount_due",
                                                 "amount_paid", "balance", "reference")}}
        department = data["department"]["code"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidEvent(f"{event_type}: {type(exc).__name__}: {exc}") from exc
    if not to:
        raise InvalidEvent(f"{event_type}: cooperative {number} has no email address")
    return filed_email(PAYMENT_REVERSED, number, year, data["sequence"], cooperative=number, department=department,
                       to=to, context=context)


def _crf_email(kind: str, event_type: str, data: dict) -> Email:
    """The compte rendu financier's emails (``contracts/ledger.py``): acknowledgement,
    return with the staff's message, reminder round."""
    try:
        cooperative = data["cooperative"]
        number, year, to = cooperative["number"], data["year"], cooperative["email"]
        sequence = data["round"] if kind == CRF_REMINDER else data["sequence"]
        context = {"cooperative": cooperative, "department": data["department"], "year": year}
        if kind == CRF_ACK:
            context.update(result=data["result"], closing=data["closing"], late=data["late"])
        elif kind == CRF_RETURNED:
            context["message"] = data["message"]
        else:
            context["deadline_text"] = f"{data['deadline']:%d/%m/%Y}"
        department = data["department"]["code"]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidEvent(f"{event_type}: {type(exc).__name__}: {exc}") from exc
    if not to:
        raise InvalidEvent(f"{event_type}: cooperative {number} has no email address")
    return filed_email(kind, number, year, sequence, cooperative=number, department=department, to=to,
                       context=context)


def reminder_skip_reason(inactive: bool, renewed: bool, last_reminded_at: datetime | None,
                         now: datetime) -> str | None:
    """Why a queued reminder is not sent when its turn comes (None: send it). The round
    chose its schools when it started; an email goes out minutes later."""
    if inactive:
        return "Non envoyé : la coopérative a été désactivée depuis le début de la relance."
    if renewed:
        return "Non envoyé : l'adhésion a été envoyée depuis le début de la relance."
    if last_reminded_at is not None and now - last_reminded_at < REMINDER_GAP:
        return "Non envoyé : un rappel est déjà parti il y a moins de 20 heures."
    return None


def pace(next_slots: dict[str, float], department: str, rate: float, now: float) -> float:
    """Seconds to wait before the department's next bulk message, booking its slot:
    at most ``rate`` messages a second per department (0 or less: no pacing)."""
    if rate <= 0:
        return 0.0
    slot = max(now, next_slots.get(department, now))
    next_slots[department] = slot + 1 / rate
    return slot - now


def is_stale(sequence: int, logged_sequences) -> bool:
    """An event older than one already logged in its stream (late delivery) sends nothing:
    the school would read an outdated acknowledgement, request or set of documents."""
    return any(logged > sequence for logged in logged_sequences)


def claim_gives_up(not_honoured: bool, attempt: int, occurred_at: datetime, now: datetime) -> bool:
    """Stop fetching a confirmation's PDFs: a claim refused CLAIM_ATTEMPTS times, or a
    documents API unreachable for as long as a relay may refuse a message."""
    if not_honoured and attempt + 1 >= CLAIM_ATTEMPTS:
        return True
    return gives_up(occurred_at, now)


def claim_failure_text(exc: BaseException, attempts: int) -> str:
    """What the email log says of a confirmation sent without its documents."""
    return error_text(f"Documents non joints après {attempts} tentative(s) : {exc}. "
                      "Réémettez les documents pour renvoyer la confirmation.")


def gives_up(queued_at: datetime, now: datetime) -> bool:
    """A message still not accepted by the relay this long after it was queued is failed."""
    return now - queued_at >= GIVE_UP_AFTER


def error_text(exc: BaseException) -> str:
    return str(exc)[:ERROR_MAX_LENGTH] or type(exc).__name__
