"""SEPA direct debit checks, as plain functions: the creditor identifier (ICS, checked by
python-stdnum's ``eu.at_02``), IBAN and BIC (schwifty), the mandate reference (RUM) this
system makes, the text SEPA files accept, and the French wording of return reasons."""
import re
import unicodedata
from functools import lru_cache

from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from stdnum.eu import at_02

RUM_MAX = 35
# a subset of what SEPA allows in a mandate reference: safe in a URL path and a file name
_RUM = re.compile(r"[A-Z0-9-]{1,35}\Z")
RUM_PREFIX = "RKP"
# EPC's basic Latin character set for names and free text (« Latin character set »)
_NOT_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")

# the reasons a bank gives for a return or reject (ISO 20022 ExternalReturnReason1Code),
# as the school and staff read them
RETURN_REASONS = {
    "AM04": "Provision insuffisante",
    "AC04": "Compte clôturé",
    "AC01": "IBAN incorrect",
    "AC06": "Compte bloqué",
    "AG01": "Prélèvement interdit sur ce compte",
    "AG02": "Code opération incorrect",
    "AM05": "Prélèvement en double",
    "BE05": "Créancier inconnu",
    "FF01": "Format de fichier incorrect",
    "MD01": "Pas de mandat",
    "MD02": "Mandat incomplet",
    "MD06": "Remboursement demandé par le débiteur",
    "MD07": "Débiteur décédé",
    "MS02": "Refus du débiteur",
    "MS03": "Raison non communiquée",
    "RC01": "BIC incorrect",
    "RR01": "Identification du débiteur manquante",
    "RR02": "Nom ou adresse du débiteur manquant",
    "RR03": "Nom ou adresse du créancier manquant",
    "RR04": "Raison réglementaire",
    "SL01": "Service spécifique de la banque",
}
# returned for want of money: the collection may be presented once more, in a later batch
REPRESENTABLE = frozenset({"AM04"})


class SepaError(ValueError):
    """A value SEPA would refuse: ``field`` names it, ``message`` says why in French."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def check_ics(value: str) -> str:
    """The creditor identifier, compact and upper case (``FR72ZZZ123456``); SepaError otherwise."""
    compact = at_02.compact(value or "")
    if not at_02.is_valid(compact):
        raise SepaError("ics", "Identifiant créancier SEPA (ICS) invalide : FR, 2 chiffres de contrôle, "
                               "3 caractères et l'identifiant national sont attendus.")
    return compact


def check_iban(value: str, field: str = "iban") -> str:
    """The IBAN, compact (``FR7630006000011234567890189``); SepaError naming ``field`` otherwise."""
    try:
        return IBAN(value or "").compact
    except SchwiftyException:
        raise SepaError(field, "IBAN invalide : vérifiez le pays, la clé et la longueur.")


def check_bic(value: str, field: str = "bic") -> str:
    """The BIC (8 or 11 characters), or "" when none is given (it is optional in SEPA since 2016)."""
    if not (value or "").strip():
        return ""
    try:
        return str(BIC(value.strip()))
    except SchwiftyException:
        raise SepaError(field, "BIC invalide : 8 ou 11 caractères (banque, pays, ville, agence).")


def make_rum(department: str, cooperative: str, sequence: int) -> str:
    """``RKP-38-0382296P00-001``: department, cooperative and the cooperative's nth mandate.
    Unique because the cooperative number is, and at most 3 + 1 + 3 + 1 + 16 + 1 + 3 = 28
    characters of A–Z 0–9 -."""
    rum = f"{RUM_PREFIX}-{department}-{cooperative}-{sequence:03d}".upper()
    if not is_rum(rum):
        raise SepaError("rum", f"Référence unique de mandat impossible à former : {rum!r}.")
    return rum


def is_rum(value: str) -> bool:
    return bool(_RUM.match(value or ""))


@lru_cache(maxsize=4096)  # a batch repeats towns, streets and the creditor's name
def sepa_text(text: str, limit: int) -> str:
    """Text a SEPA file carries: accents dropped (« École » → « Ecole »), any other
    character outside EPC's Latin set a space, runs of spaces one, cut to ``limit``."""
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return " ".join(_NOT_SEPA.sub(" ", folded).split())[:limit].strip()


def reason_text(code: str) -> str:
    """« Provision insuffisante » for AM04; an unknown code is shown as it is."""
    code = (code or "").strip().upper()
    return RETURN_REASONS.get(code, f"Motif bancaire {code}" if code else "Motif non communiqué")
