"""`make restore ARCHIVE=…` (`python -m deploy.restore ARCHIVE`): rebuild an empty data
folder — and, on PostgreSQL, empty schemas — from an archive of ``make backup``; then
``make run`` starts on it.

It refuses a target holding anything (a data folder with files, a schema with tables):
a restore never mixes with, nor overwrites, a system's data. Every file's SHA-256 is
checked against the manifest before anything is written, and every table's row count
after, so a damaged or incomplete archive is refused rather than half restored.

Events in flight when the backup was taken (published, still in the broker's queues,
whose messages no archive holds) are published again on the first start: the outbox rows
published in the last ``Relay.REPUBLISH_WINDOW`` before the backup are marked pending, as
after a broker that lost its data; the consumers drop what they had already applied.
"""
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
from datetime import datetime
from pathlib import Path

from deploy.backup import (
    DOCUMENTS,
    FORMAT,
    KEPT_FILES,
    MANIFEST,
    BackupError,
    libpq,
    pg_tool,
    plan,
    postgres_counts,
    sha256,
    sqlite_counts,
)
from shared.outbox import Relay

ROOT = Path(__file__).resolve().parent.parent
# What an empty data folder may hold: the archives themselves (BACKUP_DIR's default).
ALLOWED_IN_EMPTY = {"backups"}


def data_dir_from_env() -> Path:
    """DATA_DIR as ``make run`` reads it, without ``shared.config.load`` (which writes a
    signing key into it) before the folder is known empty."""
    return Path(os.environ.get("DATA_DIR", "./var")).resolve()


def refuse_non_empty_folder(data_dir: Path) -> None:
    if not data_dir.exists():
        return
    found = sorted(p.name for p in data_dir.iterdir() if p.name not in ALLOWED_IN_EMPTY)
    if found:
        shown = ", ".join(found[:5]) + (" …" if len(found) > 5 else "")
        raise BackupError(f"le dossier de données {data_dir} n'est pas vide ({shown}). Une restauration se fait "
                          f"dans un dossier vide : choisissez-en un autre (DATA_DIR=…) ou videz celui-ci.")


def read_archive(archive: Path, into: Path) -> dict:
    """Unpack the archive into ``into`` and check every file's digest; returns the manifest."""
    if not archive.is_file():
        raise BackupError(f"archive introuvable : {archive}")
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(into, filter="data")  # no path leaving ``into``, no device, no link out
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise BackupError(f"archive illisible ({archive}) : {exc}") from exc
    try:
        manifest = json.loads((into / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"l'archive n'a pas de manifeste lisible ({MANIFEST}) : {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"format d'archive {manifest.get('format')!r} inconnu de cette version.")
    bad = [name for name, digest in manifest["files"].items()
           if not (into / name).is_file() or sha256((into / name).read_bytes()) != digest]
    extra = [p.relative_to(into).as_posix() for p in into.rglob("*")
             if p.is_file() and p.name != MANIFEST and p.relative_to(into).as_posix() not in manifest["files"]]
    if bad or extra:
        raise BackupError(f"archive altérée : {len(bad)} fichier(s) absent(s) ou modifié(s) "
                          f"({', '.join(bad[:5])}), {len(extra)} de trop ({', '.join(extra[:5])}).")
    return manifest


def check_revisions(manifest: dict) -> None:
    """An archive made by a newer version has migrations this code does not know: refuse
    it rather than start on tables it cannot read. An older one is migrated by ``make run``."""
    from alembic.script import ScriptDirectory

    for store, entry in manifest["stores"].items():
        revision = entry.get("alembic_revision")
        migrations = ROOT / "services" / store / "migrations"
        if revision is None or not migrations.is_dir():
            continue
        try:
            known = ScriptDirectory(str(migrations)).get_revision(revision)
        except Exception:  # alembic's own error for an unknown revision
            known = None
        if known is None:
            raise BackupError(f"la base {store} est à la révision {revision}, inconnue de ce code : "
                              f"restaurez avec la version qui a fait la sauvegarde ({manifest['versions']}).")


def compare_counts(manifest: dict, store: str, counts: dict[str, int]) -> None:
    wanted = manifest["stores"][store]["tables"]
    if counts != wanted:
        differ = sorted(t for t in set(wanted) | set(counts) if wanted.get(t) != counts.get(t))
        raise BackupError(f"{store} restauré ne correspond pas au manifeste : "
                          + ", ".join(f"{t} {counts.get(t)} au lieu de {wanted.get(t)}" for t in differ[:5]))


def republish_since(manifest: dict) -> datetime:
    return datetime.fromisoformat(manifest["started_at"]) - Relay.REPUBLISH_WINDOW


# -- SQLite ------------------------------------------------------------------------------

def check_sqlite(manifest: dict, unpacked: Path, store: str) -> Path:
    """The store's copy, checked whole and counted, its recent events marked pending."""
    copy = unpacked / manifest["stores"][store]["file"]
    conn = sqlite3.connect(copy)
    try:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise BackupError(f"la base {store} de l'archive est endommagée.")
    finally:
        conn.close()
    counts, _ = sqlite_counts(copy)
    compare_counts(manifest, store, counts)
    if "outbox" in counts:
        conn = sqlite3.connect(copy)
        try:
            with conn:
                conn.execute("UPDATE outbox SET published_at = NULL WHERE published_at >= ?",
                             (republish_since(manifest).strftime("%Y-%m-%d %H:%M:%S.%f"),))
        finally:
            conn.close()
    return copy


# -- PostgreSQL --------------------------------------------------------------------------

def refuse_non_empty_schemas(url: str, schemas: list[str]) -> None:
    import psycopg

    conninfo, env = libpq(url)
    with psycopg.connect(conninfo, password=env.get("PGPASSWORD"), autocommit=True) as conn:
        used = [schema for (schema,) in conn.execute(
            "SELECT DISTINCT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%s)", (schemas,)).fetchall()]
    if used:
        raise BackupError(f"la base de données n'est pas vide (schémas {', '.join(sorted(used))}). Une "
                          f"restauration se fait dans une base vide : créez-en une autre (DATABASE_URL=…).")


def drop_empty_schemas(url: str, schemas: list[str]) -> None:
    """Schemas without a table (a first start that stopped early) are made again by the dump."""
    import psycopg

    conninfo, env = libpq(url)
    with psycopg.connect(conninfo, password=env.get("PGPASSWORD"), autocommit=True) as conn:
        for schema in schemas:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}"')  # without CASCADE: only an empty one goes


def restore_postgres(manifest: dict, unpacked: Path, url: str, schemas: list[str]) -> None:
    import psycopg

    conninfo, env = libpq(url)
    for entry in manifest["databases"]:
        wanted = [schema for schema in entry["schemas"] if schema in schemas]
        if not wanted:
            continue
        # the whole dump when it is all wanted (its CREATE SCHEMA included), else schema by schema
        selection = [] if wanted == entry["schemas"] else [f"--schema={schema}" for schema in wanted]
        if selection:
            with psycopg.connect(conninfo, password=env.get("PGPASSWORD"), autocommit=True) as conn:
                for schema in wanted:
                    conn.execute(f'CREATE SCHEMA "{schema}"')
        done = subprocess.run(
            [pg_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
             *selection, "--dbname", conninfo, str(unpacked / entry["file"])],
            env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_restore a échoué : {done.stderr.strip()}")
    with psycopg.connect(conninfo, password=env.get("PGPASSWORD")) as conn:
        for schema in schemas:
            counts, _ = postgres_counts(conn, schema)
            compare_counts(manifest, schema, counts)
            if "outbox" in counts:
                conn.execute(f'UPDATE "{schema}".outbox SET published_at = NULL WHERE published_at >= %s',
                             (republish_since(manifest),))


# -- the whole -----------------------------------------------------------------------------

def restore(archive: Path) -> Path:
    data_dir = data_dir_from_env()
    refuse_non_empty_folder(data_dir)
    os.umask(0o077)  # as shared.config.protect: everything restored is the owner's only
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        _restore(archive, data_dir)
    except BaseException:
        # the folder was empty: a refused or failed restore leaves it so (a signing key
        # made by load(), a store moved in), ready for the next attempt
        for path in data_dir.iterdir():
            if path.name not in ALLOWED_IN_EMPTY:
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        raise
    return data_dir


def _restore(archive: Path, data_dir: Path) -> None:
    from shared.config import load

    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".restore-") as staging:
        unpacked = Path(staging)
        manifest = read_archive(Path(archive).resolve(), unpacked)
        check_revisions(manifest)
        settings = load()
        files, databases = plan(settings)
        if set(files) | {s for schemas in databases.values() for s in schemas} != set(manifest["stores"]):
            raise BackupError(f"les bases de l'archive ({', '.join(sorted(manifest['stores']))}) ne sont pas "
                              f"celles de ce code.")
        for url, schemas in databases.items():
            refuse_non_empty_schemas(url, schemas)
        if any(manifest["stores"][store]["kind"] != "sqlite" for store in files):
            raise BackupError("l'archive vient de PostgreSQL : indiquez la base cible (DATABASE_URL=…).")
        if any(manifest["stores"][store]["kind"] != "postgresql" for schemas in databases.values() for store in schemas):
            raise BackupError("l'archive vient des bases SQLite de l'installation autonome : restaurez-la sans "
                              "DATABASE_URL.")
        checked = {store: check_sqlite(manifest, unpacked, store) for store in files}  # all before any is moved
        for url, schemas in databases.items():
            drop_empty_schemas(url, schemas)
            restore_postgres(manifest, unpacked, url, schemas)
        for store, path in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(checked[store], path)
        if (unpacked / DOCUMENTS).is_dir():
            shutil.move(unpacked / DOCUMENTS, data_dir / DOCUMENTS)
        for name in KEPT_FILES:
            kept = unpacked / "config" / name
            if kept.is_file():
                # load() above may have made a fresh key: the archive's signs what it holds
                os.replace(kept, data_dir / name)
    return data_dir


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not argv[0]:
        print("Usage : make restore ARCHIVE=chemin/vers/retkoop-backup-….tar.gz "
              "(ou python -m deploy.restore ARCHIVE)", file=sys.stderr)
        return 2
    try:
        data_dir = restore(Path(argv[0]))
    except BackupError as exc:
        print(f"Restauration refusée : {exc}", file=sys.stderr)
        return 1
    print(f"Restauré dans {data_dir} : « make run » démarre dessus.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
