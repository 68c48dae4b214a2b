"""After a Redis restart the relay publishes again what the broker no longer holds, and
only that: a message still queued or held unacknowledged by a worker is not doubled."""
import json

import pytest
import redis
from sqlalchemy import select

from contracts import documents as documents_events
from deploy.redis_server import RedisServer
from services.documents.app import create_app
from services.documents.models import OutboxEvent
from shared import outbox
from shared.service import shutdown
from tests.support import prepared_app, test_settings


@pytest.fixture(params=[True, False], ids=["appendonly", "no-persistence"])
def broker(request):
    server = RedisServer(appendonly=request.param).start()
    yield server
    server.close()


def pending(app, model=OutboxEvent) -> list[str]:
    with app.extensions["service"].database.session() as session:
        return list(session.scalars(select(model.event_id).where(model.published_at.is_(None)).order_by(model.id)))


def test_republish_after_a_restart_sends_what_the_broker_lost(tmp_path, broker):
    settings = test_settings(tmp_path, None, broker_url=broker.url)
    app = prepared_app(create_app, settings)
    relay = app.extensions["service"].relay
    try:
        with app.extensions["service"].database.session() as session:
            events = [outbox.record(session, OutboxEvent, documents_events.GENERATED,
                                    documents_events.GENERATED.example).event_id for _ in range(3)]
        assert relay.publish_pending() == 3
        client = redis.Redis.from_url(broker.url)
        # a worker took the first and holds it unacknowledged (as kombu records it), the
        # second was consumed and acknowledged, the third still waits in the queue
        taken = client.rpop("notify")
        client.hset("unacked", "tag-1", json.dumps([json.loads(taken), "", "notify"]))
        client.rpop("notify")
        assert client.llen("notify") == 1
        assert relay.check_broker() == 0  # the relay's first look: a new broker is not a lost one

        broker.stop(graceful=True)
        broker.start()
        republished = relay.check_broker()

        if broker.appendonly:  # the broker kept its queue: only the consumed one goes again
            assert (republished, pending(app)) == (1, [events[1]])
        else:  # the broker lost everything: all three go again
            assert (republished, pending(app)) == (3, events)
        assert relay.check_broker() == 0  # one restart, one republish
    finally:
        shutdown(app)


def test_event_ids_are_read_from_celery_messages_and_anything_else_is_skipped():
    assert outbox._held_of(b"not json") is None
    assert outbox._held_of(json.dumps({"body": "e30=", "properties": {"body_encoding": "base64"}}).encode()) is None


def test_a_copy_lost_for_one_consumer_is_sent_again_to_that_consumer_only(tmp_path, redis_url):
    """One validation is a message per consumer (documents, ledger, payment). The
    documents' copy was popped by a worker that then stood still, the ledger's and the
    payment's still wait: the documents' copy goes again, and no other is doubled. (By
    event alone, the copies still held made the lost one look held: a confirmation never
    came, in the three faults' burst.)"""
    from contracts import adhesion as adhesion_events
    from services.adhesion.app import create_app as create_adhesion_app
    from services.adhesion.models import OutboxEvent as AdhesionOutbox

    settings = test_settings(tmp_path, None, broker_url=redis_url)
    app = prepared_app(create_adhesion_app, settings)
    relay = app.extensions["service"].relay
    try:
        with app.extensions["service"].database.session() as session:
            event = outbox.record(session, AdhesionOutbox, adhesion_events.VALIDATED,
                                  adhesion_events.VALIDATED.example).event_id
        assert relay.publish_pending() == 1 and relay.check_broker() == 0
        client = redis.Redis.from_url(redis_url)

        def copies(queue):
            return [outbox._held_of(m) for m in client.lrange(queue, 0, -1)].count(
                (event, f"{queue}.on_adhesion_validated"))

        assert [copies(queue) for queue in ("documents", "ledger", "payment")] == [1, 1, 1]
        client.rpop("documents")  # popped by the worker that then stood still: held nowhere
        outbox.request_republish(redis_url)
        assert relay.check_broker() == 1
        assert [copies(queue) for queue in ("documents", "ledger", "payment")] == [1, 1, 1]
        assert pending(app, AdhesionOutbox) == []  # nothing else goes out again
        assert relay.check_broker() == 0
    finally:
        shutdown(app)


def test_a_republish_that_fails_is_tried_again_at_the_next_look(tmp_path):
    """The broker answers the restart's look but not the republish (here: writes paused
    past the relay's socket timeout, as a Redis still loading its file refuses them): the
    restart is not forgotten, the next look republishes."""
    server = RedisServer().start()
    settings = test_settings(tmp_path, None, broker_url=server.url)
    app = prepared_app(create_app, settings)
    relay = app.extensions["service"].relay
    try:
        with app.extensions["service"].database.session() as session:
            event = outbox.record(session, OutboxEvent, documents_events.GENERATED,
                                  documents_events.GENERATED.example).event_id
        assert relay.publish_pending() == 1 and relay.check_broker() == 0
        server.stop()
        server.start()  # without its data: the event is gone
        client = redis.Redis.from_url(server.url)
        client.execute_command("CLIENT", "PAUSE", 4000, "WRITE")
        with pytest.raises(redis.exceptions.TimeoutError):
            relay.check_broker()
        assert pending(app) == []
        client.execute_command("CLIENT", "UNPAUSE")
        assert relay.check_broker() == 1
        assert pending(app) == [event]
    finally:
        shutdown(app)
        server.close()


def test_a_stuck_worker_killed_is_taken_as_a_restart(tmp_path, redis_url):
    """A worker killed because it stopped consuming may have popped a message it never
    recorded: ``request_republish`` makes the relays publish again what the broker does
    not hold (once), without a restart of Redis."""
    settings = test_settings(tmp_path, None, broker_url=redis_url)
    app = prepared_app(create_app, settings)
    relay = app.extensions["service"].relay
    try:
        with app.extensions["service"].database.session() as session:
            events = [outbox.record(session, OutboxEvent, documents_events.GENERATED,
                                    documents_events.GENERATED.example).event_id for _ in range(2)]
        assert relay.publish_pending() == 2
        client = redis.Redis.from_url(redis_url)
        client.rpop("notify")  # popped by the worker that then stood still: held nowhere
        assert relay.check_broker() == 0
        outbox.request_republish(redis_url)
        assert relay.check_broker() == 1
        assert pending(app) == [events[0]]
        assert relay.check_broker() == 0  # one kill, one republish
    finally:
        shutdown(app)
