"""Handing composed messages to the SMTP relay (or the local sink), with failures sorted
for retry. A ``Mailer`` keeps one connection open and carries many messages on it:
opening a connection (TCP, greeting, EHLO, STARTTLS, AUTH) costs more than a message."""
import email.utils
import logging
import os
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from email.message import EmailMessage

log = logging.getLogger(__name__)

# A connection idle longer than this is checked (NOOP) before it carries a message:
# relays close idle connections, and a message must not be half-sent on a dead one.
IDLE_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    timeout: float = 10.0
    messages_per_connection: int = 100


class TransientSmtpError(Exception):
    """Worth retrying later: the relay is down, slow, or answered 4xx."""


class PermanentSmtpError(Exception):
    """Retrying cannot help: 5xx for every recipient, bad address, bad credentials."""


class Mailer:
    """One SMTP connection reused for many messages: opened on first use, reopened after
    an error or after ``messages_per_connection`` messages. Not shared between threads
    (``mailer_for`` gives each thread of each process its own)."""

    def __init__(self, settings: SmtpSettings):
        self.settings = settings
        self._client: smtplib.SMTP | None = None
        self._carried = 0
        self._last_used = 0.0
        self.connections_opened = 0

    def send(self, raw: bytes, sender: str, recipients: list[str]) -> None:
        """Hand over the stored message bytes as they are (CRLF line ends); raise
        TransientSmtpError or PermanentSmtpError, nothing else from SMTP."""
        try:
            client = self._connection()
            refused = client.sendmail(sender, recipients, raw)
        except BaseException as exc:
            self.close()  # whatever the state of the session, the next message starts clean
            _raise_sorted(exc)
            raise
        self._carried += 1
        self._last_used = time.monotonic()
        if refused:
            # Some recipients have it already: raising would make a retry send it to them twice.
            log.warning("message refused for %s", refused)

    def _connection(self) -> smtplib.SMTP:
        if self._client is not None and self._carried >= self.settings.messages_per_connection:
            self.close()
        if self._client is not None and time.monotonic() - self._last_used > IDLE_CHECK_SECONDS:
            try:
                if self._client.noop()[0] != 250:
                    self.close()
            except (OSError, smtplib.SMTPException):
                self.close()
        if self._client is None:
            settings = self.settings
            client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            try:
                if settings.starttls:
                    client.starttls(context=ssl.create_default_context())
                if settings.user:
                    client.login(settings.user, settings.password or "")
            except BaseException:
                client.close()
                raise
            self._client, self._carried = client, 0
            self.connections_opened += 1
        return self._client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


_local = threading.local()


def mailer_for(settings: SmtpSettings) -> Mailer:
    """This thread's mailer (one per worker process in Celery's prefork pool); a new one
    when the settings change, or in a forked child, which must not write on its parent's socket."""
    mailer = getattr(_local, "mailer", None)
    if mailer is None or mailer.settings != settings or getattr(_local, "pid", None) != os.getpid():
        if mailer is not None and getattr(_local, "pid", None) == os.getpid():
            mailer.close()
        mailer = _local.mailer = Mailer(settings)
        _local.pid = os.getpid()
    return mailer


def as_stored(message: EmailMessage) -> bytes:
    """The bytes to keep and later send unchanged: SMTP's CRLF line ends."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def envelope_sender(message_from: str) -> str:
    return email.utils.parseaddr(message_from)[1]


def send(message: EmailMessage, settings: SmtpSettings) -> None:
    """Deliver one message on a connection of its own (tools and tests; workers use a Mailer)."""
    mailer = Mailer(settings)
    try:
        mailer.send(as_stored(message), envelope_sender(str(message["From"])), [str(message["To"])])
    finally:
        mailer.close()


def _raise_sorted(exc: BaseException) -> None:
    # order matters: every smtplib error is also an OSError
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        error = PermanentSmtpError if all(code >= 500 for code in codes) else TransientSmtpError
        raise error(f"recipients refused: {exc.recipients}") from exc
    if isinstance(exc, smtplib.SMTPResponseException):  # sender refused, data, auth, helo, connect
        error = PermanentSmtpError if exc.smtp_code >= 500 else TransientSmtpError
        raise error(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from exc
    if isinstance(exc, smtplib.SMTPNotSupportedError):  # no STARTTLS/AUTH/SMTPUTF8: a setup problem
        raise PermanentSmtpError(str(exc)) from exc
    if isinstance(exc, ssl.SSLCertVerificationError):  # the certificate will not fix itself
        raise PermanentSmtpError(f"TLS certificate: {exc}") from exc
    if isinstance(exc, (OSError, smtplib.SMTPException)):  # refused, reset, timeout, disconnected
        raise TransientSmtpError(f"{type(exc).__name__}: {exc}") from exc
    if isinstance(exc, (ValueError, UnicodeError)):  # e.g. non-ASCII address smtplib cannot put on the wire
        raise PermanentSmtpError(f"cannot send: {exc}") from exc
