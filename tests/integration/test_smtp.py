"""send() against real SMTP servers on localhost: the MailSink, a refusing aiosmtpd, a mute socket."""
import email.policy
import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from email.parser import BytesParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from deploy.redis_server import free_port
from deploy.smtp_sink import MailSink
from services.notify.mail import compose
from services.notify.smtp import Mailer, PermanentSmtpError, SmtpSettings, TransientSmtpError, as_stored, send

ROOT = Path(__file__).resolve().parents[2]
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n" + bytes(range(256))
CONTEXT = {
    "cooperative": {"number": "0382296P00", "name": "École Élémentaire Jean Moulin", "town": "VIENNE"},
    "department": {"code": "38", "name": "OCCE de l'Isère"},
    "year": "2025-2026",
    "amount_paid": Decimal("439.25"),
    "registration_code": "26/0001 A",
    "insurance": True,
}



def validation_mail(version: int = 1, to: str = "ce.0382296P@ac-grenoble.fr"):
    return compose(
        "validation_confirmation",
        to,
        CONTEXT,
        f"<validation-0382296P00-2025-2026-v{version}@retkoop.local>",
        "Retkoop OCCE <retkoop@occe.local>",
        [("attestation-0382296P00-2025-2026.pdf", PDF)],
    )


@pytest.fixture
def sink(tmp_path):
    with MailSink(tmp_path / "mail", port=free_port()) as running:
        yield running


def settings_for(port: int, **extra) -> SmtpSettings:
    return SmtpSettings(host="127.0.0.1", port=port, timeout=2.0, **extra)


def test_sent_message_is_saved_and_read_back(sink):
    sent = validation_mail()
    send(sent, settings_for(sink.port))

    [received] = sink.messages()
    assert received["Subject"] == sent["Subject"] and received["Subject"].startswith("Votre adhésion et votre assurance 2025-2026 sont validées : ")
    assert received["Message-ID"] == sent["Message-ID"]
    assert received["X-Envelope-To"] == "ce.0382296P@ac-grenoble.fr"
    assert "Bravo !" in received.get_body(("plain",)).get_content()
    [attachment] = received.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "attestation-0382296P00-2025-2026.pdf"
    assert attachment.get_content() == PDF
    # written atomically: only finished .eml files, no temporary left behind
    assert [path.suffix for path in sink.directory.iterdir()] == [".eml"]


def test_nothing_listening_is_transient():
    with pytest.raises(TransientSmtpError):
        send(validation_mail(), settings_for(free_port()))


def test_silent_server_times_out_as_transient():
    with socket.socket() as mute:  # accepts connections (kernel backlog) but never greets
        mute.bind(("127.0.0.1", 0))
        mute.listen()
        started = time.monotonic()
        with pytest.raises(TransientSmtpError):
            send(validation_mail(), SmtpSettings("127.0.0.1", mute.getsockname()[1], timeout=0.5))
        assert time.monotonic() - started < 5


def test_sink_down_then_up_on_the_same_port(sink):
    send(validation_mail(1), settings_for(sink.port))
    sink.stop()
    with pytest.raises(TransientSmtpError):
        send(validation_mail(2), settings_for(sink.port))
    sink.start()
    send(validation_mail(3), settings_for(sink.port))
    sink.stop()
    sink.start()
    send(validation_mail(4), settings_for(sink.port))

    ids = [message["Message-ID"] for message in sink.messages()]
    assert ids == [f"<validation-0382296P00-2025-2026-v{n}@retkoop.local>" for n in (1, 3, 4)]


def test_a_new_sink_on_the_same_directory_keeps_order(tmp_path):
    port = free_port()
    for version in (1, 2):
        with MailSink(tmp_path, port=port) as sink:
            send(validation_mail(version), settings_for(port))
    ids = [message["Message-ID"] for message in MailSink(tmp_path).messages()]
    assert ids == ["<validation-0382296P00-2025-2026-v1@retkoop.local>", "<validation-0382296P00-2025-2026-v2@retkoop.local>"]
    assert len(sink.messages()) == 2


def test_starttls_refused_by_plain_server_is_permanent(sink):
    with pytest.raises(PermanentSmtpError):
        send(validation_mail(), settings_for(sink.port, starttls=True))
    assert sink.messages() == []


class Refusing:
    """A relay answering RCPT by the local part: 550 for unknown@, 451 for later@."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("unknown@"):
            return "550 5.1.1 Utilisateur inconnu"
        if address.startswith("later@"):
            return "451 4.3.0 Réessayez plus tard"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    def __init__(self):
        self.accepted = []  # (recipients, bytes) of each message taken

    async def handle_DATA(self, server, session, envelope):
        self.accepted.append((list(envelope.rcpt_tos), envelope.content))
        return "250 OK"


@pytest.fixture
def refusing_relay():
    return Refusing()


@pytest.fixture
def refusing_port(refusing_relay):
    controller = Controller(refusing_relay, hostname="127.0.0.1", port=free_port(), server_hostname="refusing",
                            ready_timeout=30)
    controller.start()
    yield controller.port
    controller.stop()


def test_5xx_recipient_is_permanent(refusing_port):
    with pytest.raises(PermanentSmtpError):
        send(validation_mail(to="unknown@example.org"), settings_for(refusing_port))


def test_4xx_recipient_is_transient(refusing_port):
    with pytest.raises(TransientSmtpError):
        send(validation_mail(to="later@example.org"), settings_for(refusing_port))


def test_accepted_recipient_passes(refusing_port, refusing_relay):
    message = validation_mail(to="ok@example.org")
    send(message, settings_for(refusing_port))  # neither error is raised
    [(recipients, data)] = refusing_relay.accepted
    assert recipients == ["ok@example.org"]
    assert BytesParser(policy=email.policy.default).parsebytes(data)["Message-ID"] == message["Message-ID"]


def test_module_runs_in_foreground_and_stops_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "DATA_DIR": str(tmp_path), "SMTP_SINK_PORT": str(port)}
    process = subprocess.Popen([sys.executable, "-m", "deploy.smtp_sink"], cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                send(validation_mail(), settings_for(port))
                break
            except TransientSmtpError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert len(list((tmp_path / "mail").glob("*.eml"))) == 1


class Counting:
    """A relay that accepts everything and notes which connection (client port) carried each message."""

    def __init__(self):
        self.peers = []
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.peers.append(session.peer)
        self.messages.append(envelope.original_content)
        return "250 OK"


@pytest.fixture
def counting():
    handler = Counting()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), server_hostname="counting", ready_timeout=30)
    controller.start()
    yield handler, controller.port
    controller.stop()


def mailed(mailer, versions) -> list[bytes]:
    stored = []
    for version in versions:
        message = validation_mail(version)
        stored.append(as_stored(message))
        mailer.send(stored[-1], "retkoop@occe.local", [str(message["To"])])
    return stored


def test_one_connection_carries_many_messages_as_stored(counting):
    handler, port = counting
    mailer = Mailer(settings_for(port))
    try:
        stored = mailed(mailer, range(1, 6))
    finally:
        mailer.close()
    assert len(handler.messages) == 5 and len(set(handler.peers)) == 1 and mailer.connections_opened == 1
    # the stored bytes went out as they are: no parse and re-serialisation on the way
    assert handler.messages == stored


def test_a_connection_carries_at_most_its_cap(counting):
    handler, port = counting
    mailer = Mailer(settings_for(port, messages_per_connection=2))
    try:
        mailed(mailer, range(1, 6))
    finally:
        mailer.close()
    assert len(handler.messages) == 5 and len(set(handler.peers)) == 3 and mailer.connections_opened == 3


def test_reconnects_after_the_relay_restarts(sink):
    mailer = Mailer(settings_for(sink.port))
    try:
        mailed(mailer, [1])
        sink.stop()
        sink.start()
        try:  # the old connection is dead: this one fails as transient (Celery retries it), or the check caught it
            mailed(mailer, [2])
        except TransientSmtpError:
            mailed(mailer, [2])
        mailed(mailer, [3])
    finally:
        mailer.close()
    assert [m["Message-ID"] for m in sink.messages()] == [
        f"<validation-0382296P00-2025-2026-v{n}@retkoop.local>" for n in (1, 2, 3)]
    assert mailer.connections_opened == 2
