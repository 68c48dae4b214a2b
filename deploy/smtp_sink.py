"""The embedded run's mail relay: accepts any SMTP message and keeps it as DATA_DIR/mail/*.eml."""
import email.policy
import itertools
import logging
import os
import signal
import sys
import threading
import uuid
from datetime import datetime, timezone
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from aiosmtpd.controller import Controller

log = logging.getLogger(__name__)


class _SaveToDirectory:
    """aiosmtpd handler: one atomic .eml file per accepted message."""

    def __init__(self, directory: Path):
        self.directory = directory
        # names sort by arrival: UTC timestamp, then a counter for the same microsecond,
        # then a random tail so two sinks on one directory never collide
        self._counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{next(self._counter):06d}-{uuid.uuid4().hex[:8]}.eml"
        # the envelope is where Bcc and the real recipients live; headers may not say
        envelope_headers = (
            f"X-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        temporary = self.directory / f".{name}.tmp"  # not *.eml: readers never see half a file
        temporary.write_bytes(envelope_headers + content)
        os.replace(temporary, self.directory / name)
        subject = BytesParser(policy=email.policy.default).parsebytes(content, headersonly=True).get("Subject", "")
        log.info("mail to %s « %s » saved as %s", ", ".join(envelope.rcpt_tos), subject, name)
        return "250 Message accepted for delivery"


class MailSink:
    """A local SMTP server writing .eml files; start/stop may be repeated on the same port."""

    def __init__(self, directory: str | Path, host: str = "127.0.0.1", port: int = 8025):
        self.directory = Path(directory)
        self.host = host
        self.port = port
        self._handler = _SaveToDirectory(self.directory)
        self._controller: Controller | None = None

    def start(self) -> None:
        if self._controller is not None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        # A Controller closes its event loop on stop, so each start needs a new one.
        # asyncio binds with SO_REUSEADDR on POSIX, so the port is free again at once.
        # server_hostname avoids aiosmtpd's getfqdn(), which can hang on a DNS lookup.
        controller = Controller(
            self._handler, hostname=self.host, port=self.port, server_hostname="retkoop-sink",
            ready_timeout=30,  # a busy machine (a whole test suite on two cores) is slow to start a thread
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        if self._controller is None:
            return
        self._controller.stop()
        self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> "MailSink":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def messages(self) -> list[EmailMessage]:
        """Every saved message, parsed back, oldest first."""
        parser = BytesParser(policy=email.policy.default)
        return [parser.parsebytes(path.read_bytes()) for path in sorted(self.directory.glob("*.eml"))]


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s smtp-sink %(message)s")
    from shared.config import protect

    protect(Path(os.environ.get("DATA_DIR", "./var")))  # the emails carry the PDFs: 0600 in a 0700 folder
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd's dozen lines per session
    directory = Path(os.environ.get("DATA_DIR", "./var")) / "mail"
    host = os.environ.get("SMTP_SINK_HOST", "127.0.0.1")
    port = int(os.environ.get("SMTP_SINK_PORT", "8025"))
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    sink = MailSink(directory, host=host, port=port)
    try:
        sink.start()
    except OSError as exc:
        log.error("cannot listen on %s:%s: %s", host, port, exc)
        sys.exit(1)
    log.info("listening on %s:%s, saving to %s", host, port, directory.resolve())
    try:
        stopping.wait()
    finally:
        sink.stop()
    log.info("stopped")


if __name__ == "__main__":
    main()
