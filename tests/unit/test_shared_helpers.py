"""The helpers every service shares: the school year and the moments read back aware."""
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session

from shared import schoolyear
from shared.columns import moment, row_id


@pytest.mark.parametrize("day, year", [
    (date(2025, 9, 1), "2025-2026"), (date(2026, 8, 31), "2025-2026"), (date(2025, 8, 31), "2024-2025"),
    (date(2026, 1, 15), "2025-2026"),
])
def test_the_school_year_of_a_day(day, year):
    assert schoolyear.of(day) == year
    assert schoolyear.contains(year, day)


def test_bounds_and_neighbours():
    assert (schoolyear.first_day("2025-2026"), schoolyear.last_day("2025-2026")) == (date(2025, 9, 1), date(2026, 8, 31))
    assert (schoolyear.previous("2025-2026"), schoolyear.following("2025-2026")) == ("2024-2025", "2026-2027")
    for bad in ("2025-2027", "2025/2026", "", "2025-2026\n"):
        with pytest.raises(ValueError):
            schoolyear.years(bad)


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    __tablename__ = "rows"
    id: Mapped[int] = row_id()
    at: Mapped[datetime] = moment()


def test_moments_come_back_aware_in_utc_from_sqlite(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'moments.db'}")
    _Base.metadata.create_all(engine)
    paris = timezone(timedelta(hours=2))
    with Session(engine) as session:
        session.add(_Row(at=datetime(2025, 9, 15, 10, 30, tzinfo=paris)))
        session.commit()
        read = session.scalar(select(_Row.at))
    assert read == datetime(2025, 9, 15, 8, 30, tzinfo=timezone.utc) and read.tzinfo is not None
    with Session(engine) as session, pytest.raises(Exception, match="zone"):
        session.add(_Row(at=datetime(2025, 9, 15, 10, 30)))  # a naive moment is refused
        session.commit()
