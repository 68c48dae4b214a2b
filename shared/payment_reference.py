"""The payment reference a school writes on its transfer: ISO 11649 (``RF…``), derived
from the cooperative number and the school year only. It is the one rule the payment
service matches bank lines with, the school's « Et maintenant ? » shows at once after
sending (no wait for the payment service's dues) and the « saisie reçue » email carries
(docs/reconciliation.md#1-the-payment-reference)."""
from stdnum import iso11649
from stdnum.iso7064 import mod_97_10


def payment_reference(number: str, year: str) -> str:
    """``RF`` + 2 check digits + YY (the school year's second year) + the cooperative
    number, e.g. ``RF37260382296P00`` for 0382296P00 in 2025-2026."""
    body = year[-2:] + number
    return "RF" + mod_97_10.calc_check_digits(body + "RF") + body


def is_payment_reference(text: str) -> bool:
    return iso11649.is_valid(text)


def format_reference(reference: str) -> str:
    """In groups of four, as it is printed for the school to copy: ``RF37 2603 8229 6P00``."""
    return iso11649.format(reference)


def format_iban(iban: str) -> str:
    """An IBAN in groups of four, as banks print it: ``FR76 3000 6000 0112 3456 7890 189``."""
    compact = "".join(str(iban).split()).upper()
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
