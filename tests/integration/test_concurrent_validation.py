"""Two deliveries of one ``adhesion.validated`` at the same moment, in two processes (as
the documents worker's two pool processes run a redelivery beside its original): one set
of files, whose size and digest are the ones ``documents.generated`` carries.

Each process draws its own bytes (its rank is appended to the PDF), so the test holds even
if the rendering stopped being invariant; a barrier makes both reserve before either
completes, and the second one writes its files after the first committed — the order that
once overwrote the file the event described."""
import hashlib
import json
import multiprocessing

from sqlalchemy import select

from services.documents.app import create_app
from services.documents.models import Document, OutboxEvent
from shared.auth import issue_service_token
from shared.service import shutdown
from tests.integration.test_documents_service import validated
from tests.support import prepared_app

FORK = multiprocessing.get_context("fork")


def _deliver_in_child(settings, envelope, barrier, rank, results):
    import time

    from services.documents import service as documents
    from services.documents.handlers import on_adhesion_validated

    real = documents.renderer

    def racing(kind):
        draw = real(kind)

        def drawn(doc):
            barrier.wait(30)  # both deliveries reserved: neither has completed
            if rank == 1:
                time.sleep(1.0)  # the second writes after the first committed
            return draw(doc) + f"\n% drawn by delivery {rank}\n".encode()

        return drawn

    documents.renderer = racing
    app = create_app(settings)
    try:
        with app.app_context():
            results.put((rank, on_adhesion_validated(envelope)))
    except Exception as exc:  # reported to the parent
        results.put((rank, repr(exc)))
    finally:
        shutdown(app)


def test_two_deliveries_at_once_keep_the_files_the_event_describes(tmp_path, database_url, redis_url):
    from tests.support import test_settings

    settings = test_settings(tmp_path, database_url, broker_url=redis_url)
    shutdown(prepared_app(create_app, settings))  # migrated before the children start
    envelope = validated(insurance=True)
    barrier, results = FORK.Barrier(2), FORK.Queue()
    children = [FORK.Process(target=_deliver_in_child, args=(settings, envelope, barrier, rank, results))
                for rank in (0, 1)]
    for child in children:
        child.start()
    for child in children:
        child.join(120)
    outcomes = dict(results.get(timeout=5) for _ in children)
    assert sorted(outcomes.values(), key=str) == [False, True], outcomes  # one delivery issued them

    app = prepared_app(create_app, settings)
    try:
        with app.extensions["service"].database.session() as session:
            [event] = [json.loads(row.payload)["data"] for row in session.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "documents.generated"))]
            keys = {row.kind: row.storage_key for row in session.scalars(select(Document))}
        folder = settings.data_dir / "documents"
        stored = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*.pdf"))
        assert stored == sorted(keys.values())  # the losing delivery's files are gone
        token = {"Authorization": f"Bearer {issue_service_token('test-secret', 'notify')}"}
        for item in event["documents"]:
            served = app.test_client().get(item["url"], headers=token).data
            assert (len(served), hashlib.sha256(served).hexdigest()) == (item["size"], item["sha256"])
            assert (folder / keys[item["kind"]]).read_bytes() == served
    finally:
        shutdown(app)
