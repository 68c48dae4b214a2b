"""Every consumer accepts its contract's example: each service's subscribed handlers run
in-process against that service's real store (SQLite), a real broker and a real SMTP
server, on the example the contract publishes."""
import importlib
import threading
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone

import pytest
from werkzeug.serving import make_server

from contracts import documents as documents_contracts
from deploy.redis_server import free_port
from deploy.smtp_sink import MailSink
from shared.events import SERVICES_PACKAGE, service_names, subscriptions_of
from shared.sealed import open_sealed, seal
from shared.service import shutdown
from tests.support import prepared_app, test_settings

SUBSCRIBED = [
    (name, contract, task)
    for name in service_names()
    for contract, task in subscriptions_of(name).items()
]


@pytest.fixture
def sink(tmp_path):
    with MailSink(tmp_path / "mail", port=free_port()) as running:
        yield running


@contextmanager
def documents_api_with_the_example(settings):
    """The real documents app on a free port holding the documents.generated example's PDFs
    (the claim check's consumer fetches them from there)."""
    from services.documents.app import create_app
    from services.documents.models import Document
    from services.documents.storage import storage_for

    example = documents_contracts.GENERATED.example
    app = prepared_app(create_app, settings)
    now = datetime.now(timezone.utc)
    with app.extensions["service"].database.session() as session:
        for document in example["documents"]:
            key = f"example/{document['number']}.pdf"
            storage_for(settings).put(key, documents_contracts.EXAMPLE_PDF)
            session.add(Document(kind=document["kind"], number=document["number"],
                                 cooperative=example["cooperative"]["number"], cooperative_name="x",
                                 department=example["department"]["code"], year=example["year"],
                                 version=example["version"], registration_code=example["registration_code"],
                                 verify_token=f"example-{document['number']}", storage_key=key,
                                 reserved_at=now, generated_at=now))
    host, port = settings.internal_api_url.removeprefix("http://").split(":")
    server = make_server(host, int(port), app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        shutdown(app)


@pytest.mark.parametrize("service_name, contract, task", SUBSCRIBED, ids=[t.name for _, _, t in SUBSCRIBED])
def test_consumer_accepts_the_contract_example(service_name, contract, task, tmp_path, redis_url, sink):
    module = importlib.import_module(f"{SERVICES_PACKAGE}.{service_name}.app")
    settings = test_settings(tmp_path, None, broker_url=redis_url, smtp_host="127.0.0.1", smtp_port=sink.port,
                             internal_api_url=f"http://127.0.0.1:{free_port()}")
    documents_api = (documents_api_with_the_example(settings) if contract is documents_contracts.GENERATED
                     else nullcontext())
    with documents_api:
        app = prepared_app(module.create_app, settings)
        run_twice(service_name, contract, task, app, sink)


# notify's consumers that keep a state and send nothing (who is deactivated)
NO_EMAIL = {"notify.on_cooperative_active_changed", "notify.on_personal_data_erased", "notify.on_retention_due"}


def run_twice(service_name, contract, task, app, sink):
    try:
        example = contract.example
        if "sealed_link" in example:  # the example's link is sealed with "example", this app's key is the test's
            example = {**example, "sealed_link": seal(open_sealed(example["sealed_link"], "example"), "test-secret")}
        envelope = contract.build(example).to_dict()
        with app.app_context():
            first = task(envelope)
            again = task(envelope)  # the same event re-delivered
        assert first not in (None, False, "skipped"), f"{task.name} did nothing with the example"
        if service_name == "notify" and task.name not in NO_EMAIL:  # the logged email's status, unchanged
            assert isinstance(first, str) and again == first
        else:  # a second application is never accepted: the re-delivered event is dropped
            assert first is True and again is False
        emails = 1 if service_name == "notify" and task.name not in NO_EMAIL else 0
        assert len(sink.messages()) == emails  # one email at most, never two
    finally:
        shutdown(app)
