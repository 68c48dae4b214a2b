"""The code d'enregistrement: ``YY/NNNN A``, numbered per department and year.

One counter row per department and year, incremented in the caller's transaction, so a
rolled-back validation gives its number back (no gap) and concurrent validations queue
on the row lock (no duplicate)."""
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from services.adhesion.domain import registration_code
from services.adhesion.models import Adhesion, RegistrationSequence
from shared.counters import increment


def code_in_use(session: Session, department: str, code: str) -> bool:
    return session.scalar(
        select(exists().where(Adhesion.department == department, Adhesion.registration_code == code))
    )


def allocate_code(session: Session, department: str, year: str) -> str:
    while True:
        code = registration_code(year, increment(session, RegistrationSequence, "last_number", department=department, year=year))
        if not code_in_use(session, department, code):  # staff may have chosen it by hand
            return code
