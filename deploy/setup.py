"""The start-up step, run once before any process serves: every service's store migrated
to its latest revision, then the first-start seed. `make run`, compose (its `setup`
service) and the test stack call it; app factories and workers do no I/O."""
import importlib
import sys

from shared.config import load
from shared.events import SERVICES_PACKAGE, service_names
from shared.sessions import STORE, SessionStore


def prepare(settings=None, only: tuple[str, ...] | None = None) -> None:
    settings = settings or load()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    for name in only or service_names():
        importlib.import_module(f"{SERVICES_PACKAGE}.{name}.app").prepare(settings)
    sessions = SessionStore(settings.database_url_for(STORE))  # the platform's, beside the services'
    sessions.create()
    sessions.dispose()


if __name__ == "__main__":
    prepare()
    sys.exit(0)
