"""Celery app modules the tests start instead of a service's own (``Stack(apps=...)``,
``Worker(app=...)``): the same worker with a slower step, so a test can catch a task in
the middle of its work. The product reads no test setting; the delay lives here."""
import os


def delay(name: str) -> float:
    """The pause of this test's slow step, in seconds (the test sets it in the worker's environment)."""
    return float(os.environ.get(name) or 0)
