"""The ledger worker, its consumer pausing TEST_CONSUME_DELAY_SECONDS inside its
transaction (after « proposing the adhesion entry » is logged, before the proposal is
written): a test kills the worker with the transaction open.

    celery -A tests.workers.slow_ledger worker -Q ledger"""
import time

from services.ledger import service
from tests.workers import delay

_propose = service.propose_adhesion_entry


def _slow_propose(*args, **kwargs):
    time.sleep(delay("TEST_CONSUME_DELAY_SECONDS"))
    return _propose(*args, **kwargs)


service.propose_adhesion_entry = _slow_propose  # the handler looks it up at each call

from services.ledger.worker import app, celery, flask_app  # noqa: E402, F401
