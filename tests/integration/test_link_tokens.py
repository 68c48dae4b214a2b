"""A live password link is kept in no store in clear once its email is sent (docs/http.md,
SPEC §4 « Clarified »): the adhesion outbox and the broker carry it sealed, notify opens
it to write the email, and the email log keeps a copy with the token taken out — while
the school's mailbox gets a link that works. Adhesion and notify apps, the real Redis
broker, a real SMTP server (aiosmtpd), on SQLite and PostgreSQL."""
import email.policy
import json
import re
from email.parser import BytesParser

import pytest
import redis
from sqlalchemy import select

from deploy.redis_server import free_port
from deploy.smtp_sink import MailSink
from services.notify.app import create_app as create_notify_app
from services.notify.handlers import on_cooperative_invited, on_password_reset_requested
from services.notify.mail import REDACTED_TOKEN
from services.notify.models import Message
from shared.service import shutdown
from tests.integration.test_adhesion_api import outbox_rows
from tests.integration.test_departments import import_file, school_file
from tests.support import prepared_app, test_settings, wait_for

LINK = re.compile(r"http://\S+/(?:invitation|mot-de-passe/nouveau)/([A-Za-z0-9_-]{20,})")


@pytest.fixture
def sink(tmp_path):
    with MailSink(tmp_path / "mail", port=free_port()) as running:
        yield running


@pytest.fixture
def notify(tmp_path, database_url, redis_url, sink):
    settings = test_settings(tmp_path / "notify", database_url, broker_url=redis_url, smtp_host="127.0.0.1",
                             smtp_port=sink.port)
    app = prepared_app(create_notify_app, settings)
    yield app
    shutdown(app)


def broker_bytes(redis_url: str) -> bytes:
    """Everything the broker holds: queues, unacknowledged messages, any other key."""
    client = redis.Redis.from_url(redis_url)
    held = []
    for key in client.scan_iter():
        kind = client.type(key)
        if kind == b"list":
            held += client.lrange(key, 0, -1)
        elif kind == b"hash":
            held += [b"%s=%s" % pair for pair in client.hgetall(key).items()]
        elif kind == b"zset":
            held += client.zrange(key, 0, -1)
        elif kind == b"set":
            held += list(client.smembers(key))
        elif kind == b"string":
            held.append(client.get(key))
    return b"\n".join(held)


def deliver(notify, task, envelope: dict) -> str:
    with notify.app_context():
        return task(envelope)


def logged(notify) -> list[Message]:
    with notify.extensions["service"].database.session() as session:
        rows = session.scalars(select(Message).order_by(Message.id)).all()
        for row in rows:
            _ = row.raw  # deferred: loaded while the session is open
        return rows


@pytest.mark.parametrize("kind", ["reset", "invitation"])
def test_a_live_link_is_in_no_store_once_its_email_is_sent(kind, app, client, staff, notify, sink, redis_url):
    if kind == "reset":
        assert client.post("/api/adhesion/cooperatives", headers=staff, json={
            "number": "0382296P00", "name": "Jean Moulin", "town": "VIENNE", "email": "ce.0382296p@ac-grenoble.fr",
            "password": "ancien-mdp"}).status_code == 201
        assert client.post("/api/auth/password-reset", json={"login": "0382296p00"}).status_code == 202
        event_type, task = "password_reset.requested", on_password_reset_requested
    else:
        assert import_file(client, staff, school_file(1)).status_code == 200
        event_type, task = "cooperative.invited", on_cooperative_invited
    [row] = outbox_rows(app, event_type)
    envelope = json.loads(row.payload)
    wait_for(lambda: envelope["event_id"].encode() in broker_bytes(redis_url), timeout=10)  # published

    assert deliver(notify, task, envelope) == "sent"
    [mail] = sink.messages()
    token = LINK.search(mail.get_body(("plain",)).get_content()).group(1)
    assert token in mail.get_body(("html",)).get_content()

    # nowhere in clear: the outbox row, the broker, the email log
    assert token not in row.payload and "/mot-de-passe/" not in row.payload and "/invitation/" not in row.payload
    assert token.encode() not in broker_bytes(redis_url)
    [message] = logged(notify)
    assert message.status == "sent" and token.encode() not in message.raw
    # the log's copy is the email as sent, the token taken out of its text and HTML
    kept = BytesParser(policy=email.policy.default).parsebytes(message.raw)
    assert kept["Message-ID"] == mail["Message-ID"] and kept["Subject"] == mail["Subject"]
    for body in (kept.get_body(("plain",)).get_content(), kept.get_body(("html",)).get_content()):
        assert token not in body and REDACTED_TOKEN in body

    # and the link the school received works
    password = {"reset": "nouveau-mdp", "invitation": "premier-mdp"}[kind]
    answer = client.post("/api/auth/password-reset/confirm", json={"token": token, "password": password})
    assert answer.status_code == 200, answer.json
