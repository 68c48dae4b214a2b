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
    broker_tables(settings.broker_url)


def broker_tables(broker_url: str) -> None:
    """The SQL broker's tables (the embedded run's ``sqla+sqlite`` broker), made once here:
    kombu makes them on each process's first connection, and the dozen processes of
    `make run` starting at once raced to it (« table kombu_queue already exists »)."""
    if not broker_url.startswith("sqla+"):
        return
    from kombu import Connection

    with Connection(broker_url) as connection:
        connection.default_channel.session.close()


if __name__ == "__main__":
    prepare()
    sys.exit(0)
