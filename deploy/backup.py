"""`make backup` (`python -m deploy.backup`): one archive of everything the system keeps,
taken while it keeps serving, its path printed on the last line.

What goes in (docs/operations.md): every store — each embedded SQLite file through
SQLite's online backup API, or a ``pg_dump -Fc`` of each PostgreSQL database holding
the services' schemas —, the documents folder, the embedded signing key, and
``manifest.json``: row counts per table per store, the SHA-256 of every file, each
store's Alembic revision and the versions of what wrote it.

One moment for every store: the services talk through events, so stores copied one after
the other could hold a consequence without its cause (a PDF numbered with a code the
adhesion store never issued — and would issue again after a restore). SQLite: every
store's write lock is taken together for a few milliseconds, a read snapshot is opened on
each, the locks are let go and each snapshot is copied while the writers carry on.
PostgreSQL: one ``pg_dump`` per database is already one snapshot of all its schemas;
the row counts are read in that very snapshot (``pg_export_snapshot``).
The documents are copied after the stores: every PDF a copied row names is there.
"""
import hashlib
import io
import json
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from shared.config import Settings, load
from shared.events import service_names
from shared.sessions import STORE as AUTH_STORE

ROOT = Path(__file__).resolve().parent.parent
FORMAT = 1
MANIFEST = "manifest.json"
DOCUMENTS = "documents"
# Files of DATA_DIR a restore needs beside the stores: the signing key of the embedded
# run (links, verification codes and sessions stay valid) and the first staff password.
KEPT_FILES = ("secret_key", "admin_password")
LOCK_WAIT_SECONDS = 2.0  # each store's write lock; all are let go and taken again past it
LOCK_ATTEMPTS = 30


class BackupError(Exception):
    """A backup or restore that cannot be done; the message is for the operator."""


def stores() -> list[str]:
    """Every store the system keeps: each service's, then the platform's session store."""
    return [*service_names(), AUTH_STORE]


def backup_dir(settings: Settings) -> Path:
    return Path(os.environ.get("BACKUP_DIR") or settings.data_dir / "backups").resolve()


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL, None for any other database."""
    if not url.startswith("sqlite"):
        return None
    return Path(url.split("///", 1)[-1])


def libpq(url: str) -> tuple[str, dict]:
    """A SQLAlchemy URL of PostgreSQL as a libpq connection string without its password,
    and the environment giving the password (never on a command line others can read)."""
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    if url.startswith("postgresql+"):
        url = "postgresql://" + url.split("://", 1)[1]
    params = conninfo_to_dict(url)
    password = params.pop("password", None)
    env = {**os.environ, **({"PGPASSWORD": password} if password else {})}
    return make_conninfo(**params), env


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sqlite_counts(path: Path) -> tuple[dict[str, int], str | None]:
    """Rows per table of a SQLite file and its Alembic revision."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        counts = {name: conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] for name in tables}
        revision = None
        if "alembic_version" in counts:
            revision = conn.execute("SELECT max(version_num) FROM alembic_version").fetchone()[0]
        return counts, revision
    finally:
        conn.close()


def postgres_counts(cursor, schema: str) -> tuple[dict[str, int], str | None]:
    """Rows per table of one schema and its Alembic revision, in the cursor's transaction."""
    tables = [name for (name,) in cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_type = 'BASE TABLE' "
        "ORDER BY table_name", (schema,)).fetchall()]
    counts = {name: cursor.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0] for name in tables}
    revision = None
    if "alembic_version" in counts:
        revision = cursor.execute(f'SELECT max(version_num) FROM "{schema}".alembic_version').fetchone()[0]
    return counts, revision


def versions() -> dict:
    found = {"python": platform.python_version(), "sqlite": sqlite3.sqlite_version}
    try:
        from importlib.metadata import version

        found["retkoop"] = version("retkoop-adhesion")
    except Exception:  # run from a checkout that was never installed
        pass
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5)
        if commit.returncode == 0:
            found["commit"] = commit.stdout.strip()
    except OSError:  # no git in the image
        pass
    return found


# -- SQLite ------------------------------------------------------------------------------

def _lock_all(paths: dict[str, Path]) -> list[sqlite3.Connection]:
    """Every store's write lock at once. A transaction of the system holds one store's lock
    and may wait for another's (a login: its account, then its session): all are let go
    and taken again after a pause rather than waited for, so neither side waits for ever."""
    for _ in range(LOCK_ATTEMPTS):
        held = []
        try:
            for path in paths.values():
                conn = sqlite3.connect(path, timeout=LOCK_WAIT_SECONDS, isolation_level=None)
                held.append(conn)
                conn.execute("BEGIN IMMEDIATE")
            return held
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            for conn in held:
                conn.close()  # closing rolls back what it holds
            time.sleep(random.uniform(0.05, 0.3))
    raise BackupError("Les bases restent occupées : sauvegarde impossible pour l'instant, réessayez.")


def copy_sqlite_stores(paths: dict[str, Path], into: Path) -> dict[str, Path]:
    """Copy each store as it was at one moment, with SQLite's online backup API."""
    missing = [name for name, path in paths.items() if not path.exists()]
    if missing:
        raise BackupError(f"Bases absentes ({', '.join(missing)}) : lancez d'abord « make run » sur ce dossier.")
    readers: dict[str, sqlite3.Connection] = {}
    writers = _lock_all(paths)
    try:
        for name, path in paths.items():
            reader = sqlite3.connect(path, isolation_level=None)
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the read snapshot starts here
            readers[name] = reader
    finally:
        for conn in writers:
            conn.close()  # the writers go on; the readers keep the moment
    copies = {}
    try:
        for name, reader in readers.items():
            copies[name] = into / f"{name}.db"
            target = sqlite3.connect(copies[name])
            try:
                # pages=-1: one step, inside the reader's snapshot, whatever is written meanwhile
                reader.backup(target, pages=-1)
                target.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            finally:
                target.close()
    finally:
        for reader in readers.values():
            reader.close()
    return copies


# -- PostgreSQL --------------------------------------------------------------------------

def pg_tool(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise BackupError(f"{name} introuvable : installez le client PostgreSQL (paquet postgresql-client).")
    return path


def dump_postgres(url: str, schemas: list[str], into: Path) -> tuple[dict, dict]:
    """``pg_dump -Fc`` of ``schemas`` in one database, and their row counts read in the
    dump's own snapshot. Returns (the dump's entry, counts per schema)."""
    import psycopg

    conninfo, env = libpq(url)
    target = into / f"{'-'.join(schemas)}.dump"
    with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        server = conn.execute("SHOW server_version").fetchone()[0]
        found = {schema for (schema,) in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", (schemas,)).fetchall()}
        missing = [schema for schema in schemas if schema not in found]
        if missing:
            raise BackupError(f"Schémas absents ({', '.join(missing)}) : lancez d'abord la mise en route "
                              f"(make run, ou le service setup).")
        counts = {schema: postgres_counts(conn, schema) for schema in schemas}
        # the dump reads the same snapshot while this transaction keeps it alive
        done = subprocess.run(
            [pg_tool("pg_dump"), "-Fc", f"--snapshot={snapshot}", "--no-owner", "--no-privileges",
             *[f"--schema={schema}" for schema in schemas], "-f", str(target), "--dbname", conninfo],
            env=env, capture_output=True, text=True)
        conn.rollback()
    if done.returncode != 0:
        raise BackupError(f"pg_dump a échoué : {done.stderr.strip()}")
    tool = subprocess.run([pg_tool("pg_dump"), "--version"], capture_output=True, text=True).stdout.strip()
    return {"file": f"databases/{target.name}", "schemas": schemas, "server_version": server,
            "pg_dump": tool}, counts


# -- the archive -------------------------------------------------------------------------

def plan(settings: Settings) -> tuple[dict[str, Path], dict[str, list[str]]]:
    """The SQLite files by store, and the PostgreSQL URLs with the stores (schemas) each holds."""
    files, databases = {}, {}
    for store in stores():
        url = settings.database_url_for(store)
        path = sqlite_path(url)
        if path is not None:
            files[store] = path
        else:
            databases.setdefault(url, []).append(store)
    return files, databases


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes, digests: dict) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o600, int(time.time())
    archive.addfile(info, io.BytesIO(data))
    digests[name] = sha256(data)


def _add_file(archive: tarfile.TarFile, name: str, path: Path, digests: dict) -> None:
    _add_bytes(archive, name, path.read_bytes(), digests)


def documents_of(data_dir: Path) -> list[Path]:
    """The stored PDFs; half-written ones (LocalStorage's ``.name.tmp``) are not documents yet."""
    root = data_dir / DOCUMENTS
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def backup(settings: Settings | None = None, out_dir: Path | None = None) -> Path:
    settings = settings or load()
    out_dir = out_dir or backup_dir(settings)
    out_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = datetime.now(timezone.utc)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    files, databases = plan(settings)
    manifest = {"format": FORMAT, "started_at": started.isoformat(), "versions": versions(),
                "stores": {}, "databases": [], "files": {}}
    final = out_dir / f"retkoop-backup-{stamp}.tar.gz"
    for again in range(2, 100):  # two backups in one second (a drill) keep both
        if not final.exists():
            break
        final = out_dir / f"retkoop-backup-{stamp}-{again}.tar.gz"
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".backup-") as staging:
        staging = Path(staging)
        if files:
            for store, copy in copy_sqlite_stores(files, staging).items():
                counts, revision = sqlite_counts(copy)
                manifest["stores"][store] = {"kind": "sqlite", "file": f"stores/{store}.db",
                                             "alembic_revision": revision, "tables": counts}
        for url, schemas in databases.items():
            entry, counts = dump_postgres(url, schemas, staging)
            manifest["databases"].append(entry)
            for schema, (tables, revision) in counts.items():
                manifest["stores"][schema] = {"kind": "postgresql", "file": entry["file"],
                                              "alembic_revision": revision, "tables": tables}
        partial = out_dir / f".{final.name}.partial"
        with tarfile.open(partial, "w:gz", compresslevel=6) as archive:
            digests = manifest["files"]
            for store, entry in manifest["stores"].items():
                if entry["kind"] == "sqlite":
                    _add_file(archive, entry["file"], staging / f"{store}.db", digests)
            for entry in manifest["databases"]:
                _add_file(archive, entry["file"], staging / Path(entry["file"]).name, digests)
            for name in KEPT_FILES:
                if (settings.data_dir / name).is_file():
                    _add_file(archive, f"config/{name}", settings.data_dir / name, digests)
            # after the stores: every PDF a copied row names was written before the copy
            for path in documents_of(settings.data_dir):
                try:
                    _add_file(archive, path.relative_to(settings.data_dir).as_posix(), path, digests)
                except FileNotFoundError:  # superseded and deleted meanwhile: no copied row needs it
                    continue
            manifest["finished_at"] = datetime.now(timezone.utc).isoformat()
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2, sort_keys=True).encode(), {})
        os.chmod(partial, 0o600)
        os.replace(partial, final)
    return final


def main() -> int:
    try:
        path = backup()
    except BackupError as exc:
        print(f"Sauvegarde impossible : {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
