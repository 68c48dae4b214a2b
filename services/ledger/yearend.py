"""Rules of the year's end (docs/ledger.md#6-the-years-end) as plain Python: the chart's
kinds, pairing statement lines with entries, the cash count, the closing checks, the
CRF's figures, the quitus and the attached statement's type. No Flask, no SQLAlchemy.
"""
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from services.ledger.domain import BANK, EXPENSE, INCOME, ZERO
from shared.errors import Invalid, Malformed
from shared.money import to_cents

CHARGE, PRODUIT = "charge", "produit"
KIND_OF_DIGIT = {"6": CHARGE, "7": PRODUIT}
CHART_CODE = re.compile(r"[67][0-9]{6,9}")  # §9: 6… charges, 7… produits, 7 to 10 digits
SUBSIDY_PREFIX = "74"

# OCCE's plan for a school cooperative: what a new department's chart holds before its
# staff change anything (the two accounts of the adhesion entry among them).
DEFAULT_CHART = (
    ("60710008", "Achats de produits pour cessions"),
    ("60220008", "Fournitures pour activités éducatives"),
    ("60630008", "Petit matériel et équipement"),
    ("61681008", "Assurance"),
    ("62510008", "Sorties, voyages et déplacements"),
    ("62810008", "Cotisations versées à l'OCCE"),
    ("62700008", "Frais bancaires"),
    ("65800008", "Autres charges de gestion courante"),
    ("67100008", "Charges exceptionnelles"),
    ("70710008", "Ventes de produits pour cessions"),
    ("70600008", "Produits des activités éducatives (spectacles, fêtes)"),
    ("74100008", "Subventions de l'État"),
    ("74200008", "Subventions du département ou de la région"),
    ("74400008", "Subventions de la commune"),
    ("74800008", "Autres subventions"),
    ("75600008", "Participation volontaire des familles"),
    ("75800008", "Dons et autres produits de gestion courante"),
    ("76000008", "Produits financiers"),
    ("77100008", "Produits exceptionnels"),
)

PAIRING_DAYS = 10
_CHEQUE = re.compile(r"(?:CH[EÈ]QUE|CHQ|CHEQ|CHQUE)\D{0,6}([0-9]{5,10})", re.IGNORECASE)

# Euro notes and coins: what a cash count may list.
DENOMINATIONS = tuple(Decimal(d) for d in ("500.00", "200.00", "100.00", "50.00", "20.00", "10.00", "5.00",
                                           "2.00", "1.00", "0.50", "0.20", "0.10", "0.05", "0.02", "0.01"))
MAX_PIECES = 100_000

VERIFIER_QUALITIES = ("parent", "enseignant", "autre")
QUALITY_LABELS = {"parent": "parent d'élève", "enseignant": "enseignant non mandataire", "autre": "autre"}

# What closing and submitting check, as the 409's ``unmet`` names them.
STATEMENT_BALANCE, RECONCILIATION, CASH_COUNT = "statement_balance", "reconciliation", "cash_count"
CLOSED, QUITUS, STATEMENT = "closed", "quitus", "statement"

# The attached statement: read from its first bytes, never from its name or header.
ATTACHMENT_MAX_BYTES = 5 * 1024 * 1024
ATTACHMENT_TYPES = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
)

# The CRF's life, as staff follow it.
NOT_STARTED, DRAFT, SUBMITTED, RECEIVED, RETURNED = "not_started", "draft", "submitted", "received", "returned"
CRF_STATUSES = (NOT_STARTED, DRAFT, CLOSED, SUBMITTED, RECEIVED, RETURNED)
STATUS_LABELS = {NOT_STARTED: "non commencé", DRAFT: "en cours", CLOSED: "clôturé", SUBMITTED: "envoyé",
                 RECEIVED: "reçu", RETURNED: "renvoyé à l'école"}
DEFAULT_DEADLINE = (9, 30)  # 30 September, unless the department sets another day


def kind_of(code: str) -> str | None:
    """``charge`` for 6…, ``produit`` for 7…, None for any other code."""
    return KIND_OF_DIGIT.get(code[:1])


def chart_code_problem(code: str) -> str | None:
    if not CHART_CODE.fullmatch(code):
        return "Numéro de compte : 7 à 10 chiffres, commençant par 6 (charge) ou 7 (produit), ex. 62810008."
    return None


def is_subsidy(code: str) -> bool:
    return code.startswith(SUBSIDY_PREFIX)


def deadline(year: str, month_day: tuple[int, int]) -> date:
    """The day the CRF of exercise ``year`` is due, after the exercise ends on 31 August
    (a department choosing January means January of the next calendar year)."""
    month, day = month_day
    ends = int(year[5:]) if month >= 9 else int(year[5:]) + 1
    return date(ends, month, day) if ends <= date.max.year else date.max  # 9998-9999 due in January 10000


# -- pointage -----------------------------------------------------------------------------

def cheque_number_in(label: str) -> str:
    """The cheque number a bank label carries (« CHEQUE 1234567 », « CHQ N°0001234 »), or ""."""
    match = _CHEQUE.search(label or "")
    return match.group(1).lstrip("0") if match else ""


@dataclass(frozen=True)
class LineToPair:
    id: int
    booked_on: date
    amount: Decimal  # credits positive, debits negative
    cheque_number: str = ""


@dataclass(frozen=True)
class EntryToPair:
    piece: str
    date: date
    direction: str
    amount: Decimal
    cheque_number: str = ""


def pairs_with(line: LineToPair, entry: EntryToPair) -> bool:
    """Amount equal (a credit an income, a debit an expense), dates within 10 days, and the
    same cheque number when both have one."""
    signed = entry.amount if entry.direction == INCOME else -entry.amount
    if to_cents(line.amount) != to_cents(signed):
        return False
    if abs((line.booked_on - entry.date).days) > PAIRING_DAYS:
        return False
    ours = (entry.cheque_number or "").strip().lstrip("0")
    return not (line.cheque_number and ours and line.cheque_number != ours)


def propose_pairs(lines: Iterable[LineToPair], entries: Iterable[EntryToPair]) -> list[tuple[int, str]]:
    """One line ↔ one entry: every acceptable pair, the closest dates (a matching cheque
    number first) taken first, each line and entry used once."""
    lines, entries = list(lines), list(entries)
    candidates = []
    for line in lines:
        for entry in entries:
            if pairs_with(line, entry):
                same_cheque = bool(line.cheque_number) and line.cheque_number == entry.cheque_number.lstrip("0")
                candidates.append((not same_cheque, abs((line.booked_on - entry.date).days), line.id, entry.piece))
    taken_lines, taken_entries, pairs = set(), set(), []
    for _, _, line_id, piece in sorted(candidates):
        if line_id in taken_lines or piece in taken_entries:
            continue
        taken_lines.add(line_id)
        taken_entries.add(piece)
        pairs.append((line_id, piece))
    return sorted(pairs)


# -- the cash count -----------------------------------------------------------------------

def denomination(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except ArithmeticError:
        return None
    return value.quantize(Decimal("0.01")) if value.is_finite() and value in DENOMINATIONS else None


def counted_total(counted: dict[Decimal, int]) -> Decimal:
    return to_cents(sum((value * count for value, count in counted.items()), ZERO))


# -- closing ------------------------------------------------------------------------------

@dataclass(frozen=True)
class BookLine:
    piece: str
    date: date
    label: str
    direction: str
    account: str
    amount: Decimal
    pointed: bool


def outstanding(lines: Iterable[BookLine]) -> list[BookLine]:
    """Bank entries not seen on the statement: the cheques not cashed, the credits to come."""
    return [line for line in lines if line.account == BANK and not line.pointed]


def reconciled_balance(bank_balance: Decimal, pending: Iterable[BookLine]) -> Decimal:
    """What the statement should say: the book's bank balance, plus the expenses the bank
    has not paid yet, minus the income it has not credited yet (the issue's worked example:
    1 387,15 + 186,00 = 1 573,15)."""
    total = bank_balance
    for line in pending:
        total += line.amount if line.direction == EXPENSE else -line.amount
    return to_cents(total)


def closing_unmet(statement_balance: Decimal | None, bank_balance: Decimal, pending: Iterable[BookLine],
                  cash_count: tuple[date, Decimal] | None, cash_balance: Decimal, end: date) -> list[str]:
    """Every check of §9 that fails, in the order the work is done."""
    unmet = []
    if statement_balance is None:
        unmet.append(STATEMENT_BALANCE)
    elif reconciled_balance(bank_balance, pending) != to_cents(statement_balance):
        unmet.append(RECONCILIATION)
    if cash_count is None or cash_count[0] != end or to_cents(cash_count[1]) != to_cents(cash_balance):
        unmet.append(CASH_COUNT)
    return unmet


UNMET_TEXT = {
    STATEMENT_BALANCE: "Indiquez le solde du relevé bancaire au 31 août.",
    RECONCILIATION: "Le solde du cahier, corrigé des opérations non pointées, ne correspond pas au relevé.",
    CASH_COUNT: "Faites l'arrêté de caisse au 31 août : il doit être égal au solde de la caisse.",
    CLOSED: "Clôturez d'abord l'exercice.",
    QUITUS: "Le quitus doit nommer le mandataire et deux vérificateurs aux comptes.",
    STATEMENT: "Joignez le relevé bancaire au 31 août.",
}


# -- the CRF's figures ----------------------------------------------------------------------

@dataclass(frozen=True)
class Part:
    """One allocation of an entry: its account, its direction and its amount."""

    category: str
    direction: str
    amount: Decimal


def operating_account(parts: Iterable[Part]) -> dict[str, dict[str, Decimal]]:
    """The *compte de fonctionnement*: each charge and produit account with its total. An
    income on a charge account (a refund) lowers the charge; an expense on a produit
    account lowers the produit."""
    totals: dict[str, dict[str, Decimal]] = {CHARGE: {}, PRODUIT: {}}
    for part in parts:
        kind = kind_of(part.category)
        if kind is None:
            continue
        sign = 1 if (kind == CHARGE) == (part.direction == EXPENSE) else -1
        totals[kind][part.category] = to_cents(totals[kind].get(part.category, ZERO) + sign * part.amount)
    return totals


def result_of(totals: dict[str, dict[str, Decimal]]) -> Decimal:
    """Produits − charges."""
    return to_cents(sum(totals[PRODUIT].values(), ZERO) - sum(totals[CHARGE].values(), ZERO))


# -- the quitus ---------------------------------------------------------------------------

def _person(name: str) -> str:
    """A name compared as people write it: no accents, no case, single spaces."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return " ".join(plain.lower().replace("-", " ").split())


def quitus_problems(mandataire: str, verifiers: list[str]) -> dict:
    """Two vérificateurs aux comptes, distinct, neither the mandataire: the fields at fault."""
    if len(verifiers) != 2:
        return {"verifiers": ["Deux vérificateurs aux comptes sont nécessaires."]}
    problems: dict = {}
    first, second = (_person(name) for name in verifiers)
    if first == second:
        problems["1"] = {"name": ["Les deux vérificateurs doivent être deux personnes différentes."]}
    for index, name in enumerate(verifiers):
        if _person(name) == _person(mandataire):
            problems[str(index)] = {"name": ["Le mandataire ne peut pas être vérificateur aux comptes."]}
    return {"verifiers": problems} if problems else {}


# -- the attached statement ---------------------------------------------------------------

def attachment_type(data: bytes) -> tuple[str, str] | None:
    """(media type, extension) of a PDF, JPEG or PNG, read from its first bytes; None else."""
    for magic, media_type, extension in ATTACHMENT_TYPES:
        if data.startswith(magic):
            return media_type, extension
    return None


def crf_status(exists: bool, closed: bool, state: str | None) -> str:
    """not_started → draft → closed → submitted → received; returned until closed again."""
    if state in (SUBMITTED, RECEIVED):
        return state
    if closed:
        return CLOSED
    if state == RETURNED:
        return RETURNED
    return DRAFT if exists else NOT_STARTED


def is_late(status: str, deadline_day: date, today: date, submitted_on: date | None) -> bool:
    if status in (SUBMITTED, RECEIVED):
        return submitted_on is not None and submitted_on > deadline_day
    return today > deadline_day



def checked_piece(piece: str) -> str:
    """A piece of the book as an address names it: D01… or R01…, whole (400 otherwise)."""
    if not (2 < len(piece) <= 8 and piece[0] in "DR" and piece[1:].isascii() and piece[1:].isdigit()):
        raise Malformed("Adresse invalide.", {"piece": ["Une pièce D01… ou R01…"]})
    return piece


def month_day(value: str, field: str) -> tuple[int, int]:
    """``09-30`` → (9, 30); a day every year has (not 29 February), 422 naming ``field``."""
    try:
        month, day = (int(part) for part in value.split("-"))
        date(2001, month, day)
    except ValueError:
        raise Invalid("Date invalide.", {field: [f"Le {value} n'existe pas chaque année."]}) from None
    return month, day
