"""The documents worker, each rendering preceded by a pause of TEST_RENDER_DELAY_SECONDS
(after the numbers are reserved and « reserved, rendering » is logged): a test kills the
worker or cuts a server in the middle of an issue.

    celery -A tests.workers.slow_documents worker -Q documents"""
import time

from services.documents import service
from tests.workers import delay

_render = service._render


def _slow_render(*args, **kwargs):
    time.sleep(delay("TEST_RENDER_DELAY_SECONDS"))
    return _render(*args, **kwargs)


service._render = _slow_render  # before the pool forks: every pool process renders slowly

from services.documents.worker import app, celery, flask_app  # noqa: E402, F401
