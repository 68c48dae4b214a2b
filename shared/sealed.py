"""Sealing a single-use link for its trip from the service that issues it to the one that
emails it: the outbox row and the broker message only ever hold the sealed form, so a
database dump, a Redis snapshot or a republished event shows no live token.

Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) rather than a hand-made
scheme; the key is derived from the services' shared ``SECRET_KEY`` and the purpose, so
a sealed link opens nowhere else."""
import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken

LINK = "password link"


def _fernet(secret: str, purpose: str) -> Fernet:
    key = hmac.new(secret.encode(), f"retkoop sealed: {purpose}".encode(), hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def seal(text: str, secret: str, purpose: str = LINK) -> str:
    return _fernet(secret, purpose).encrypt(text.encode()).decode("ascii")


def open_sealed(sealed: str, secret: str, purpose: str = LINK) -> str:
    """The sealed text; ValueError when it was not sealed with this secret and purpose."""
    try:
        return _fernet(secret, purpose).decrypt(sealed.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise ValueError("a sealed link this service cannot open (another SECRET_KEY?)") from exc
