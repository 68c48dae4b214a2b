"""Per-key counter rows (e.g. per department and school year) incremented inside the
caller's transaction: a rolled-back transaction gives its number back (no gap) and
concurrent ones queue on the row lock (no duplicate)."""
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def locked_counter(session: Session, model, **key):
    """The counter row of ``key``, created at zero when missing, locked until the commit."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(model).values(**key).on_conflict_do_nothing())
    query = select(model).with_for_update()
    for name, value in key.items():
        query = query.where(getattr(model, name) == value)
    return session.scalars(query).one()


def increment(session: Session, model, counter: str, **key) -> int:
    """Add one to the ``counter`` column of the row of ``key``; returns the new value."""
    row = locked_counter(session, model, **key)
    setattr(row, counter, (getattr(row, counter) or 0) + 1)
    session.flush()
    return getattr(row, counter)
