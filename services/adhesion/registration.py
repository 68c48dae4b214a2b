"""Allocation of the code d'enregistrement: one sequence row per department and year,
incremented in the validating transaction, so a rolled-back validation gives its number
back (no gap) and concurrent validations queue on the row lock (no duplicate)."""
from sqlalchemy import exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from services.adhesion.domain import registration_code
from services.adhesion.models import Adhesion, RegistrationSequence


def code_in_use(session: Session, department: str, code: str) -> bool:
    return session.scalar(
        select(exists().where(Adhesion.department == department, Adhesion.registration_code == code))
    )


def allocate_code(session: Session, department: str, year: str) -> str:
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(RegistrationSequence)
        .values(department=department, year=year, last_number=0)
        .on_conflict_do_nothing()
    )
    while True:
        number = session.execute(
            update(RegistrationSequence)
            .where(RegistrationSequence.department == department, RegistrationSequence.year == year)
            .values(last_number=RegistrationSequence.last_number + 1)
            .returning(RegistrationSequence.last_number)
        ).scalar_one()
        code = registration_code(year, number)
        if not code_in_use(session, department, code):  # staff may have chosen it by hand
            return code
