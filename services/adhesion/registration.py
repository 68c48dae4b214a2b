"""Per-department-and-year counters: the code d'enregistrement and the reminder rounds.

One row per department and year, incremented in the caller's transaction, so a
rolled-back validation gives its number back (no gap) and concurrent validations queue
on the row lock (no duplicate)."""
from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.adhesion.domain import registration_code
from services.adhesion.models import Adhesion, RegistrationSequence, ReminderRound


def code_in_use(session: Session, department: str, code: str) -> bool:
    return session.scalar(
        select(exists().where(Adhesion.department == department, Adhesion.registration_code == code))
    )


def allocate_code(session: Session, department: str, year: str) -> str:
    while True:
        code = registration_code(year, _increment(session, RegistrationSequence, "last_number", department, year))
        if not code_in_use(session, department, code):  # staff may have chosen it by hand
            return code


def next_reminder_round(session: Session, department: str, year: str) -> int:
    """The next renewal-reminder round of a department and year (same locking as the codes)."""
    return _increment(session, ReminderRound, "last_round", department, year)


def _increment(session: Session, model, counter: str, department: str, year: str) -> int:
    """Add one to a per-department-and-year counter row, created at 0 when missing."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(model).values(department=department, year=year, **{counter: 0}).on_conflict_do_nothing()
    )
    column = getattr(model, counter)
    return session.execute(
        update(model)
        .where(model.department == department, model.year == year)
        .values({counter: column + 1})
        .returning(column)
    ).scalar_one()
