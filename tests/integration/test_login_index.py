"""One account per login whatever its letter case, held by the database itself (a unique
index on lower(login)), and the migration that brings a store made before the rule to
it: the school keeps its login, the other account is renamed. SQLite and PostgreSQL."""
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from services.adhesion.models import Account
from shared.db import Database

MIGRATIONS = Path(__file__).resolve().parents[2] / "services" / "adhesion" / "migrations"
BEFORE = "f74f42e5f2e9"  # the head before the index


def migrate(database: Database, revision: str) -> None:
    if database.is_postgresql:
        with database.engine.begin() as conn:
            conn.execute(text('CREATE SCHEMA IF NOT EXISTS "adhesion"'))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with database.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


@pytest.fixture
def database(tmp_path, database_url):
    database = Database("adhesion", database_url or f"sqlite:///{tmp_path / 'adhesion.sqlite3'}", MIGRATIONS)
    yield database
    database.dispose()


def add_account(conn, login: str, role: str) -> None:
    conn.execute(text("INSERT INTO accounts (login, password_hash, role, department, cooperative, national, active) "
                      "VALUES (:login, 'x', :role, '38', NULL, false, true)"), {"login": login, "role": role})


def test_a_store_made_before_the_rule_keeps_the_schools_login_and_then_refuses_a_second(database):
    migrate(database, BEFORE)
    with database.engine.begin() as conn:
        conn.execute(text("INSERT INTO departments (code, name, insurer, insurer_contract) "
                          "VALUES ('38', 'OCCE de l''Isère', 'MAE', '1')"))
        add_account(conn, "0380004d00", "staff")  # the squatter, made first
        add_account(conn, "0380004D00", "school")
        add_account(conn, "Marie", "staff")
        add_account(conn, "marie", "staff")
        conn.execute(text("INSERT INTO password_resets (token_hash, login, reason, created_at, expires_at) "
                          "VALUES ('h', '0380004d00', 'staff', '2026-12-01 10:00:00+00', '2026-12-01 11:00:00+00')"))
    migrate(database, "head")
    with database.engine.begin() as conn:
        logins = sorted(conn.execute(text("SELECT login FROM accounts")).scalars())
        assert logins == ["0380004D00", "0380004d00-2", "Marie", "marie-2"]
        assert conn.execute(text("SELECT role FROM accounts WHERE login = '0380004D00'")).scalar() == "school"
        assert conn.execute(text("SELECT login FROM password_resets")).scalar() == "0380004d00-2"
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Account(login="MARIE", password_hash="x", role="staff", department="38"))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Account(login="0380004d00", password_hash="x", role="staff", department="38"))
    with database.session() as session:  # another login is as welcome as ever
        session.add(Account(login="0380005D00", password_hash="x", role="staff", department="38"))
