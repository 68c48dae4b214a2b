"""SQLAlchemy 2 sessions and Alembic migrations, the same way for every service.

SQLite (embedded run) gets one file per service and ``BEGIN IMMEDIATE`` so that
concurrent writers queue instead of failing on a lock upgrade. PostgreSQL gets one
schema per service, selected through ``search_path`` so models stay schema-free.
"""
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

# Units of work committed in the current request (or task): a request that failed on an
# outage is re-run whole only while this is 0, so nothing is ever done twice.
commits: ContextVar[int] = ContextVar("commits", default=0)


class Database:
    def __init__(self, service: str, url: str, migrations: Path | None = None):
        self.service = service
        self.url = url
        self.migrations = migrations
        self.engine = _make_engine(service, url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any error."""
        session = self._sessions()
        try:
            yield session
            session.commit()
            commits.set(commits.get() + 1)
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def migrate(self) -> None:
        """Bring this service's tables to the latest Alembic revision (the start-up step,
        deploy/setup.py, runs it once before any process serves)."""
        # imported here: workers and web processes never migrate, and Alembic costs ~80 ms
        # of every process start
        from alembic import command
        from alembic.config import Config

        if self.is_postgresql:
            with self.engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.service}"'))
        config = Config()
        config.set_main_option("script_location", str(self.migrations))
        with self.engine.begin() as conn:
            if self.is_postgresql:  # processes starting together migrate one after the other
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": self.service})
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # health reports any failure as "down"
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(service: str, url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_setup(dbapi_connection, _record):
            dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=5,
        max_overflow=10,
        connect_args={"options": f"-csearch_path={service}", "connect_timeout": 5},
    )
