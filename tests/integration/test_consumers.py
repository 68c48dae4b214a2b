"""Every consumer accepts its contract's example: each service's subscribed handlers run
in-process against that service's real store (SQLite), a real broker and a real SMTP
server, on the example the contract publishes."""
import importlib

import pytest

from deploy.redis_server import free_port
from deploy.smtp_sink import MailSink
from shared.events import SERVICES_PACKAGE, service_names
from shared.service import shutdown
from tests.support import prepared_app, test_settings

SUBSCRIBED = [
    (name, contract, task)
    for name in service_names()
    for contract, task in importlib.import_module(f"{SERVICES_PACKAGE}.{name}.handlers").SUBSCRIPTIONS.items()
]


@pytest.fixture
def sink(tmp_path):
    with MailSink(tmp_path / "mail", port=free_port()) as running:
        yield running


@pytest.mark.parametrize("service_name, contract, task", SUBSCRIBED, ids=[t.name for _, _, t in SUBSCRIBED])
def test_consumer_accepts_the_contract_example(service_name, contract, task, tmp_path, redis_url, sink):
    module = importlib.import_module(f"{SERVICES_PACKAGE}.{service_name}.app")
    settings = test_settings(tmp_path, None, broker_url=redis_url, smtp_host="127.0.0.1", smtp_port=sink.port)
    app = prepared_app(module.create_app, settings)
    try:
        envelope = contract.build(contract.example).to_dict()
        with app.app_context():
            first = task(envelope)
            again = task(envelope)  # the same event re-delivered
        assert first not in (None, False, "skipped"), f"{task.name} did nothing with the example"
        assert again in (False, first)  # False: already consumed; a status: the email's, unchanged
        assert len(sink.messages()) == (1 if service_name == "notify" else 0)  # one email at most, never two
    finally:
        shutdown(app)
