"""Payment rules (docs/reconciliation.md#2-dues-and-payments) as plain Python: what a
cooperative owes and has paid, its payment reference, and matching bank credits to dues.

No Flask, no SQLAlchemy: everything here is unit tested without I/O.
"""
import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rapidfuzz import fuzz

from shared import schoolyear
from shared.money import to_cents

# the reference's rule lives in shared: the school's page and the email compute it too
from shared.payment_reference import format_reference, is_payment_reference, payment_reference  # noqa: F401

METHODS = ("cheque", "transfer", "direct_debit", "cash", "collect", "mairie", "sou_des_ecoles", "other")

UNPAID = "unpaid"
PARTIAL = "partial"
PAID = "paid"
OVERPAID = "overpaid"
STATUSES = (UNPAID, PARTIAL, PAID, OVERPAID)


def total_paid(amounts: Iterable[Decimal]) -> Decimal:
    return to_cents(sum(amounts, Decimal(0)))


def balance(amount_due: Decimal, amount_paid: Decimal) -> Decimal:
    """What is still owed; negative when more was paid than due."""
    return to_cents(amount_due - amount_paid)


def payment_status(amount_due: Decimal, amount_paid: Decimal) -> str:
    """unpaid (nothing paid of a non-zero due), partial, paid (exactly) or overpaid."""
    if amount_paid <= 0 and amount_due > 0:
        return UNPAID
    if amount_paid < amount_due:
        return PARTIAL
    if amount_paid > amount_due:
        return OVERPAID
    return PAID


@dataclass(frozen=True)
class Received:
    """A payment as recorded: ``reverses`` names the payment a reversal cancels."""

    id: int
    amount: Decimal
    method: str
    reference: str
    received_on: date
    reverses: int | None = None


def net_received(payments: Iterable[Received]) -> list[Received]:
    """What the school really paid, one item per payment: each payment less what reversed
    it, those wholly reversed left out (the cahier de comptes writes one line per item)."""
    payments = list(payments)
    reversed_by: dict[int, Decimal] = {}
    for p in payments:
        if p.reverses is not None:
            reversed_by[p.reverses] = reversed_by.get(p.reverses, Decimal(0)) - p.amount
    kept = []
    for p in payments:
        if p.reverses is None and p.amount > 0:
            left = to_cents(p.amount - reversed_by.get(p.id, Decimal(0)))
            if left > 0:
                kept.append(Received(p.id, left, p.method, p.reference, p.received_on))
    return sorted(kept, key=lambda p: (p.received_on, p.id))


def distinct_methods(methods: Iterable[str]) -> list[str]:
    """Each method once, in the order it was first used."""
    return list(dict.fromkeys(methods))


def is_newer(incoming_revision: int, stored_revision: int | None) -> bool:
    """Events may arrive out of order: only a newer revision of the adhesion replaces the due."""
    return stored_revision is None or incoming_revision > stored_revision


# --- Matching bank credits to what cooperatives owe (docs/reconciliation.md#4-matching) ----
#
# Each piece of evidence has a weight; they add up as independent chances (1 − Π(1 − w)),
# so two strong reasons beat one and weak reasons never reach CONFIDENT on their own.

CONFIDENT = Decimal("0.9")
WEIGHTS = {
    "reference": 0.9,          # the RF reference printed for the school
    "registration_code": 0.8,  # « 26/0035 A »
    "number": 0.8,             # the cooperative number
    "iban": 0.8,               # an account staff already confirmed for this cooperative
    "amount_due": 0.6,         # exactly what is still due
    "name": 0.5,               # payer or label against the cooperative's name (weak)
    "town": 0.25,              # the town, as a town hall names itself (weak)
}
STRONG = frozenset({"reference", "registration_code", "number", "iban"})
SPLIT_SCORES = {"identified": 0.95, "named": 0.75, "town": 0.6}
NAME_THRESHOLD = 85
MAX_SUGGESTIONS = 5
MAX_TOWN_SPLIT = 12  # subsets of a town's open dues tried for a town-hall credit
# Words that say what kind of payer or school it is, not which one.
NOISE = frozenset("""
    A AU AUX D DE DES DU EN ET L LA LE LES SUR SOUS
    COOP COOPE COOPERATIVE COOPERATIVES SCOL SCOLAIRE SCOLAIRES OCCE CS
    ECOLE ECOLES EE EP EM EEPU EMPU ELEM ELEMENTAIRE PRIMAIRE MATERNELLE MAT GROUPE GS PUBLIQUE PRIVEE
    MAIRIE COMMUNE VILLE SOU SOUS ASSOCIATION ASSO PARENTS
    VIR VIREMENT VIRT SEPA RECU EMIS DE PRLV CHQ CHEQUE CHEQUES REMISE ADHESION ASSURANCE COTISATION
    REF REFERENCE MOTIF NPY LIB
""".split())


def normalise(text: str) -> str:
    """Upper case, no accents, letters and digits only, without the words every school or
    bank label has."""
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().upper()
    return " ".join(w for w in re.split(r"[^A-Z0-9]+", folded) if w and w not in NOISE)


def compact(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().upper()
    return re.sub(r"[^A-Z0-9]", "", folded)


@dataclass(frozen=True)
class OpenDue:
    cooperative: str
    year: str
    name: str
    town: str
    balance: Decimal                   # what is still due
    registration_code: str = ""
    ibans: frozenset = frozenset()

    @property
    def reference(self) -> str:
        return payment_reference(self.cooperative, self.year)


@dataclass(frozen=True)
class Credit:
    amount: Decimal
    label: str
    payer: str = ""
    payer_iban: str = ""
    booked_on: date | None = None


@dataclass(frozen=True)
class ClosedSlip:
    id: int
    number: str
    total: Decimal


_CODE = re.compile(r"\b(\d{2})\s*/\s*(\d{4})\s*([A-Z])\b")
_RF = re.compile(r"RF\d{2}")


class Matcher:
    """Built once per department from its open dues, then asked about each credit."""

    def __init__(self, dues: list[OpenDue], slips: list[ClosedSlip] = ()):
        self.dues = dues
        self.slips = list(slips)
        self.by_reference = {d.reference: d for d in dues}
        self.by_number: dict[str, list[OpenDue]] = {}
        self.by_code: dict[str, OpenDue] = {}
        self.by_iban: dict[str, list[OpenDue]] = {}
        self.by_balance: dict[Decimal, list[OpenDue]] = {}
        self.by_town: dict[str, list[OpenDue]] = {}
        for due in dues:
            self.by_number.setdefault(due.cooperative, []).append(due)
            if due.registration_code:
                self.by_code[compact(due.registration_code)] = due
            for iban in due.ibans:
                self.by_iban.setdefault(iban, []).append(due)
            if due.balance > 0:
                self.by_balance.setdefault(due.balance, []).append(due)
            town = normalise(due.town)
            if town:
                self.by_town.setdefault(town, []).append(due)
        self.names = [normalise(d.name) for d in dues]
        self.name_index: dict[str, set[int]] = {}
        for index, name in enumerate(self.names):
            for word in name.split():
                if len(word) >= 3:
                    self.name_index.setdefault(word[:4], set()).add(index)
        self.longest_number = max((len(n) for n in self.by_number), default=0)

    # evidence -------------------------------------------------------------------------

    def _identified(self, credit: Credit) -> dict[OpenDue, set]:
        found: dict[OpenDue, set] = {}
        text = compact(credit.label)
        for match in _RF.finditer(text):  # the body's length is unknown: try each one
            for end in range(match.end() + 1, min(len(text), match.start() + 25) + 1):
                due = self.by_reference.get(text[match.start():end])
                if due is not None:
                    found.setdefault(due, set()).add("reference")
        upper = unicodedata.normalize("NFKD", credit.label).encode("ascii", "ignore").decode().upper()
        for match in _CODE.finditer(upper):
            due = self.by_code.get("".join(match.groups()))
            if due is not None:
                found.setdefault(due, set()).add("registration_code")
        words = re.split(r"[^A-Z0-9]+", upper)
        for i, word in enumerate(words):  # a number may be typed with a space: 0382296P 00
            joined = word
            for nxt in [None, *words[i + 1:i + 3]]:
                if nxt is not None:
                    joined += nxt
                if len(joined) > self.longest_number:
                    break
                for due in self.by_number.get(joined, ()):
                    found.setdefault(due, set()).add("number")
        return found

    def _named(self, text: str) -> dict[OpenDue, float]:
        """Cooperatives whose normalised name the text carries: token_set_ratio, checked by
        how much of the name is there (the ratio alone is 100 for any shared single word).
        Only names sharing a word start with the text are scored (blocking): a department
        has thousands of names, a label a handful of words."""
        if not text:
            return {}
        words = set(text.split())
        candidates = set()
        for word in words:
            if len(word) >= 3:
                candidates |= self.name_index.get(word[:4], set())
        result = {}
        for index in candidates:
            name = self.names[index]
            score = fuzz.token_set_ratio(text, name, score_cutoff=NAME_THRESHOLD)
            if not score:
                continue
            name_words = name.split()
            covered = sum(1 for w in name_words if w in words or
                          any(fuzz.ratio(w, x) >= NAME_THRESHOLD for x in words)) / len(name_words)
            # one-word names count only when long enough to be a name, not a place word
            if covered >= 0.75 and (len(name_words) > 1 or len(name_words[0]) >= 5 or len(words) <= 2):
                result[self.dues[index]] = score / 100
        return result

    def _towns(self, text: str) -> list[OpenDue]:
        padded = f" {text} "
        return [d for town, dues in self.by_town.items() if f" {town} " in padded for d in dues]

    # suggestions ----------------------------------------------------------------------

    def suggest(self, credit: Credit) -> list[dict]:
        """Suggestions best first: ``{"cooperative","year","amount","score","reasons"}`` (a
        split adds ``"split"``: every allocation), or ``{"slip","number","amount",…}``."""
        if credit.amount <= 0:
            return []
        reasons: dict[OpenDue, set] = self._identified(credit)
        identified = set(reasons)
        for due in self.by_iban.get(credit.payer_iban, ()) if credit.payer_iban else ():
            reasons.setdefault(due, set()).add("iban")
        text = normalise(f"{credit.payer} {credit.label}")
        # a label that quotes a reference, number or code needs no name search
        named = {} if identified else self._named(text)
        for due in named:
            reasons.setdefault(due, set()).add("name")
        same_amount = self.by_balance.get(credit.amount, [])
        if len(same_amount) <= 3:  # many cooperatives owe the same sum: the amount alone says nothing
            for due in same_amount:
                reasons.setdefault(due, set())
        towns = self._towns(text)
        suggestions = []
        for due, why in reasons.items():
            if due.balance == credit.amount:
                why.add("amount_due")
            if due in towns:
                why.add("town")
            score = combined(WEIGHTS[r] * (named.get(due, 1.0) if r == "name" else 1.0) for r in why)
            if why and credit.booked_on and not in_school_year_window(credit.booked_on, due.year):
                why.add("outside_year")  # last year's dues paid in this September are rare
                score *= 0.5
            if why:
                suggestions.append(_single(due, credit.amount, score, why))
        if not any("amount_due" in s["reasons"] for s in suggestions):
            split = self._split(credit, identified, set(named), towns)
            if split:
                suggestions.extend(split)
        for slip in self.slips:
            if slip.total == credit.amount:
                label = compact(credit.label)
                why = ["slip_total"] + (["slip_label"] if ("REMISE" in label or slip.number.replace("-", "") in label)
                                        else [])
                suggestions.append({"slip": slip.id, "number": slip.number, "amount": slip.total,
                                    "score": Decimal("0.95") if len(why) > 1 else Decimal("0.85"), "reasons": why})
        # a split that adds up to the credit exactly is the proposal: a single cooperative
        # short of that sum would take the whole credit (the town hall's one-click trap)
        split_found = any("split" in s for s in suggestions)
        suggestions.sort(key=lambda s: (split_found and "split" not in s and "slip" not in s,
                                        -s["score"], s.get("cooperative", ""), s.get("slip", 0)))
        if suggestions and STRONG & set(suggestions[0]["reasons"]):
            # the label names its cooperative: others that merely owe the same sum are noise
            suggestions = [s for s in suggestions if STRONG & set(s["reasons"]) or "split" in s["reasons"]]
        return suggestions[:MAX_SUGGESTIONS]

    def _split(self, credit: Credit, identified: set, named: set, towns: list[OpenDue]) -> list[dict]:
        """A town hall paying for several schools: the dues of the cooperatives the credit
        names (or of its town) that add up to the credit exactly."""
        for group, kind in ((identified, "identified"), (identified | named, "named")):
            group = [d for d in group if d.balance > 0]
            if len(group) > 1 and sum(d.balance for d in group) == credit.amount:
                return _split_suggestions(sorted(group, key=lambda d: d.cooperative), kind)
        # a name shared with a school of another town must not hide the pair the label names
        in_town = set(towns)
        named_open = sorted((d for d in identified | named if d.balance > 0),
                            key=lambda d: (d not in in_town, d.cooperative))[:MAX_TOWN_SPLIT]
        subset = _exact_subset(named_open, credit.amount)
        if subset:
            return _split_suggestions(subset, "named")
        subset = _exact_subset([d for d in towns if d.balance > 0][:MAX_TOWN_SPLIT], credit.amount)
        return _split_suggestions(subset, "town") if subset else []


def _exact_subset(dues: list[OpenDue], amount: Decimal) -> list[OpenDue]:
    """The largest group of two or more dues adding up to ``amount`` exactly (first found)."""
    for size in range(len(dues), 1, -1):
        for subset in itertools.combinations(dues, size):
            if sum(d.balance for d in subset) == amount:
                return sorted(subset, key=lambda d: d.cooperative)
    return []


def in_school_year_window(day: date, year: str) -> bool:
    """Dues of 2025-2026 are paid from the spring before (early payers) to the end of August 2026."""
    return date(schoolyear.years(year)[0], 3, 1) <= day <= schoolyear.last_day(year)


def _single(due: OpenDue, amount: Decimal, score: float, why: set) -> dict:
    order = [*WEIGHTS, "outside_year"]
    return {"cooperative": due.cooperative, "year": due.year, "name": due.name, "amount": amount,
            "score": _score(score), "reasons": sorted(why, key=order.index)}


def _split_suggestions(group: list[OpenDue], kind: str) -> list[dict]:
    allocations = [{"cooperative": d.cooperative, "year": d.year, "amount": d.balance} for d in group]
    score = _score(SPLIT_SCORES[kind])
    return [{"cooperative": d.cooperative, "year": d.year, "name": d.name, "amount": d.balance, "score": score,
             "reasons": ["split", "amount_due"] + (["town"] if kind == "town" else []), "split": allocations}
            for d in group]


def combined(weights) -> float:
    miss = 1.0
    for weight in weights:
        miss *= 1.0 - weight
    return 1.0 - miss


def _score(value: float) -> Decimal:
    return Decimal(str(round(value, 2)))


def allocations_total(allocations) -> Decimal:
    return to_cents(sum((Decimal(a["amount"]) for a in allocations), Decimal(0)))


def confident(suggestion: dict, threshold: Decimal = CONFIDENT) -> bool:
    return suggestion["score"] >= threshold


def allocations_of(suggestion: dict) -> list[dict]:
    """What confirming a suggestion records: its split, or the whole credit to one cooperative."""
    if "split" in suggestion:
        return [dict(a) for a in suggestion["split"]]
    return [{"cooperative": suggestion["cooperative"], "year": suggestion["year"], "amount": suggestion["amount"]}]
