"""The restore drill on PostgreSQL (tests/e2e/test_restore_drill.py has the drill, and runs it
on the embedded SQLite stores): pg_dump while the system writes, pg_restore into an empty
database, the system started on it."""
from tests.e2e.test_restore_drill import drill


def test_backup_under_writes_restores_everything_and_the_next_code_on_postgresql(tmp_path, redis_server,
                                                                                  monkeypatch, capsys):
    drill("postgresql", tmp_path, redis_server, monkeypatch, capsys)
