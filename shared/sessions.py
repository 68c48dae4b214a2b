"""The platform's session store: which signed tokens are still alive.

A token is signed with SECRET_KEY and verified by each service locally, but a signature
alone cannot be taken back: the token also names a server-side session, and every call
checks here that the session is still open. The login opens sessions; logout and a
password change close them.

Why a store of its own and not a table of the adhesion service: every service reads
it on every call, and no service reads another's tables. It belongs to the platform
(like the broker): its own SQLite file ``auth.db`` under DATA_DIR, or its own schema
``auth`` in PostgreSQL. An introspection call to the adhesion service instead would add
an HTTP round trip to every call and make every service fail with the adhesion one.
Rows hold a hash of the session id, so reading the store gives nothing to present.
"""
import hashlib
import secrets
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import String, select, text, update
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from shared.columns import login_name, moment
from shared.db import _make_engine

STORE = "auth"


class _Base(DeclarativeBase):
    pass


class AuthSession(_Base):
    __tablename__ = "sessions"
    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = login_name(index=True)
    opened_at: Mapped[datetime] = moment()
    expires_at: Mapped[datetime] = moment(index=True)
    closed_at: Mapped[datetime | None] = moment()


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


class SessionStore:
    def __init__(self, url: str):
        self.engine = _make_engine(STORE, url)
        self._ready = False
        self._lock = threading.Lock()

    def _session(self) -> Session:
        if not self._ready:  # made by the start-up step; a test app may come first
            with self._lock:
                if not self._ready:
                    self.create()
        return Session(self.engine, expire_on_commit=False)

    def create(self) -> None:
        """The schema and table, if missing (deploy/setup.py runs it before any process serves)."""
        with self.engine.begin() as conn:
            if conn.dialect.name == "postgresql":  # processes starting together: one at a time
                conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('auth-store'))"))
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{STORE}"'))
            _Base.metadata.create_all(conn)
        self._ready = True

    def open(self, login: str, lifetime: timedelta, session_id: str | None = None) -> str:
        """A new session for ``login`` (a random id unless given); returns its id (kept only
        hashed here). Opening a given id again keeps one row."""
        session_id = session_id or secrets.token_urlsafe(24)
        now = _now()
        with self._session() as db, db.begin():
            db.merge(AuthSession(id_hash=_hash(session_id), login=login, opened_at=now, expires_at=now + lifetime))
            # Old rows go as new ones come, so the table holds about a day of logins.
            db.query(AuthSession).filter(AuthSession.expires_at < now - timedelta(days=1)).delete()
        return session_id

    def is_open(self, session_id: str, login: str) -> bool:
        with self._session() as db:
            row = db.get(AuthSession, _hash(session_id))
            return (
                row is not None and row.login == login and row.closed_at is None
                and row.expires_at > _now()
            )

    def close(self, session_id: str) -> None:
        with self._session() as db, db.begin():
            db.execute(update(AuthSession).where(
                AuthSession.id_hash == _hash(session_id), AuthSession.closed_at.is_(None)).values(closed_at=_now()))

    def close_all(self, login: str, keep: str | None = None) -> int:
        """Close every open session of ``login`` but ``keep``; returns how many."""
        query = update(AuthSession).where(AuthSession.login == login, AuthSession.closed_at.is_(None))
        if keep:
            query = query.where(AuthSession.id_hash != _hash(keep))
        with self._session() as db, db.begin():
            return db.execute(query.values(closed_at=_now())).rowcount

    def open_count(self, login: str) -> int:
        with self._session() as db:
            return len(db.scalars(select(AuthSession.id_hash).where(
                AuthSession.login == login, AuthSession.closed_at.is_(None), AuthSession.expires_at > _now())).all())

    def dispose(self) -> None:
        self.engine.dispose()
