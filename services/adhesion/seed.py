"""First start on an empty store: OCCE de l'Isère, its rates, the staff account."""
import os
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.adhesion.models import Account, Department, RateCard
from shared import schoolyear
from shared.auth import hash_password
from shared.config import Settings, persistent_secret
from shared.identifiers import is_valid_year

ISERE_RATES = {
    "fee_per_student": Decimal("2.26"),
    "fee_per_adult": Decimal("2.26"),
    "fee_per_cooperative": Decimal("0.00"),
    "insurance_per_cooperator": Decimal("0.25"),
    "goods_threshold": Decimal("2000.00"),
    "goods_rate": Decimal("0.00688"),
    "instruments_threshold": Decimal("0.00"),
    "instruments_rate": Decimal("0.00688"),
}


def seed(database, settings: Settings) -> None:
    try:
        _seed(database, settings)
    except IntegrityError:
        pass  # another process of this run seeded the store first


def _seed(database, settings: Settings) -> None:
    with database.session() as session:
        if session.get(Department, "38") is None:
            session.add(Department(code="38", name="OCCE de l'Isère", insurer="MAE – MAIF", insurer_contract=""))
            session.flush()
            # the guide's two years, and the current one copied from the last of them (staff may
            # change them on the « Tarifs » page): a first start never opens a year without rates
            for first in sorted({2024, 2025, current_school_year_start()}):
                session.add(RateCard(
                    department="38", year=f"{first}-{first + 1}", **ISERE_RATES,
                    renewal_opens=date(first, 9, 1), renewal_closes=date(first, 9, 30),
                ))
        if session.scalars(select(Account).where(Account.role == "staff")).first() is None:
            password = settings.admin_password or _saved_admin_password(settings)
            session.add(Account(login=settings.admin_login, password_hash=hash_password(password), role="staff",
                                department="38", national=True))
        admin = session.get(Account, settings.admin_login)
        if admin is not None and admin.role == "staff" and not admin.national:
            admin.national = True  # an older store without the flag: its first account is the national one


def current_school_year_start(today: date | None = None) -> int:
    """The first calendar year of the school year the pages open (``SCHOOL_YEAR`` or today's)."""
    chosen = os.environ.get("SCHOOL_YEAR", "")
    year = chosen if is_valid_year(chosen) else schoolyear.of(today or date.today())
    return schoolyear.years(year)[0]


def _saved_admin_password(settings: Settings) -> str:
    """The generated password, saved in DATA_DIR (``make run`` prints it once everything is up)."""
    path = settings.data_dir / "admin_password"
    password = persistent_secret(settings.data_dir, "admin_password")
    path.chmod(0o600)
    return password
