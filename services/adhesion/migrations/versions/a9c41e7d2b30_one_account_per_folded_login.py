"""one account per login whatever its letter case: a unique index on lower(login)

Before the rule (issue 24), staff could create a login that folds like a school's
(``0380004d00`` beside ``0380004D00``). The school keeps its login; any other account of
the same folded login is renamed ``<login>-<n>`` (its links and counters follow) and
logged, so staff can tell its owner. Then the index makes a second one impossible,
whatever path writes the row.

Revision ID: a9c41e7d2b30
Revises: 2c0cf20a3df8
Create Date: 2026-12-03 14:10:00
"""
import logging

import sqlalchemy as sa
from alembic import op

revision = 'a9c41e7d2b30'
down_revision = '2c0cf20a3df8'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade() -> None:
    bind = op.get_bind()
    accounts = bind.execute(sa.text(
        "SELECT login, role FROM accounts WHERE lower(login) IN "
        "(SELECT lower(login) FROM accounts GROUP BY lower(login) HAVING count(*) > 1)")).all()
    groups: dict[str, list] = {}
    for login, role in accounts:
        groups.setdefault(login.lower(), []).append((role != "school", login != login.upper(), login))
    taken = {row[0].lower() for row in bind.execute(sa.text("SELECT login FROM accounts")).all()}
    for folded, members in groups.items():
        for _, _, login in sorted(members)[1:]:  # the school's (or the capitals') stays
            n = 2
            while f"{folded}-{n}" in taken:
                n += 1
            renamed = f"{login}-{n}"
            taken.add(renamed.lower())
            for table in ("accounts", "password_resets"):
                bind.execute(sa.text(f"UPDATE {table} SET login = :new WHERE login = :old"),
                             {"new": renamed, "old": login})
            log.warning("login %r folds like another account's: renamed %r", login, renamed)
    op.create_index("uq_accounts_login_folded", "accounts", [sa.text("lower(login)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_accounts_login_folded", table_name="accounts")
