"""Handing a composed message to the SMTP relay (or the local sink), with failures sorted for retry."""
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0


class TransientSmtpError(Exception):
    """Worth retrying later: the relay is down, slow, or answered 4xx."""


class PermanentSmtpError(Exception):
    """Retrying cannot help: 5xx for every recipient, bad address, bad credentials."""


def send(message: EmailMessage, settings: SmtpSettings) -> None:
    """Deliver one message; raise TransientSmtpError or PermanentSmtpError, nothing else from SMTP."""
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as client:
            if settings.starttls:
                client.starttls(context=ssl.create_default_context())
            if settings.user:
                client.login(settings.user, settings.password or "")
            refused = client.send_message(message)
    # order matters: every smtplib error is also an OSError
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        error = PermanentSmtpError if all(code >= 500 for code in codes) else TransientSmtpError
        raise error(f"recipients refused: {exc.recipients}") from exc
    except smtplib.SMTPResponseException as exc:  # sender refused, data, auth, helo, connect
        error = PermanentSmtpError if exc.smtp_code >= 500 else TransientSmtpError
        raise error(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
    except smtplib.SMTPNotSupportedError as exc:  # no STARTTLS/AUTH/SMTPUTF8: a setup problem
        raise PermanentSmtpError(str(exc)) from exc
    except ssl.SSLCertVerificationError as exc:  # the certificate will not fix itself
        raise PermanentSmtpError(f"TLS certificate: {exc}") from exc
    except (OSError, smtplib.SMTPException) as exc:  # refused, reset, timeout, disconnected
        raise TransientSmtpError(f"{type(exc).__name__}: {exc}") from exc
    except ValueError as exc:  # e.g. non-ASCII address or password smtplib cannot put on the wire
        raise PermanentSmtpError(f"cannot send: {exc}") from exc
    if refused:
        # Some recipients have it already: raising would make a retry send it to them twice.
        log.warning("message %s refused for %s", message["Message-ID"], refused)
