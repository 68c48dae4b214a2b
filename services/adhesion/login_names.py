"""Login names compared without letter case: the one place that says how a typed login
finds its account, keys the throttle's counters and is checked when an account is made
(docs/http.md#5-the-login-throttle).

A school's login is its cooperative number, written in capitals (``0382296P00``), but
its mailbox and the guide spell it in small letters too; a staff login is whatever the
staff chose. So a login is folded (trimmed, ASCII letters in small letters) before it is
counted or looked up, no two accounts share a folded login, and a staff login may not be
shaped like a cooperative number: a school's login typed in any case reaches the school's
account and never someone else's."""
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.adhesion.models import Account, Cooperative
from shared.errors import Conflict, Invalid

# Every UAI starts with the digits of its department (038, 620 for Corse-du-Sud, 971…),
# so a cooperative number is a digit then letters and digits; a staff login is not.
NUMBER_SHAPE = re.compile(r"[0-9][A-Z0-9]{5,15}\Z")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold(login: str) -> str:
    """The login as it is compared and counted: trimmed, ASCII letters in small letters
    (what SQL's ``lower()`` does alike on SQLite and PostgreSQL)."""
    return login.strip().translate(_ASCII_LOWER)


def find(session: Session, login: str) -> Account | None:
    """The account of ``login`` typed in any case. Should two accounts fold alike (made
    before the rule), the school's wins: its documented login never reaches another."""
    key = fold(login)
    if not key:
        return None
    # as typed, in small letters, in capitals: the primary key answers the usual logins;
    # only a login stored in mixed case needs the scan of lower()
    spellings = {login.strip(), key, key.upper()}
    accounts = (session.scalars(select(Account).where(Account.login.in_(spellings))).all()
                or session.scalars(select(Account).where(func.lower(Account.login) == key)).all())
    if len(accounts) <= 1:
        return accounts[0] if accounts else None
    return sorted(accounts, key=lambda account: (account.role != "school", account.login != login.strip()))[0]


def taken(session: Session, login: str) -> bool:
    """Whether an account or a cooperative number already folds to ``login``."""
    key = fold(login)
    return bool(session.scalar(select(func.count()).where(func.lower(Account.login) == key))
                or session.get(Cooperative, key.upper()) is not None)  # numbers are in capitals


def check_staff_login(session: Session, login: str) -> None:
    """A new staff login: not shaped like a cooperative number (422), not an existing
    login or number in another case (409)."""
    if NUMBER_SHAPE.fullmatch(login.strip().upper()):
        raise Invalid("Un identifiant du personnel ne peut pas avoir la forme d'un numéro de coopérative.",
                      {"login": ["Forme d'un numéro de coopérative : choisissez un nom (ex. secretariat38)."]})
    if taken(session, login):
        raise Conflict(f"L'identifiant {login} existe déjà.", {"login": ["Déjà utilisé."]})
