"""First start on an empty store: OCCE de l'Isère, its rates, the staff account."""
import sys
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.adhesion.models import Account, Department, RateCard
from shared.auth import hash_password
from shared.config import Settings, persistent_secret

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
            for first in (2024, 2025):
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
            admin.national = True  # a store made before departments: its first account is the national one


def _saved_admin_password(settings: Settings) -> str:
    path = settings.data_dir / "admin_password"
    password = persistent_secret(settings.data_dir, "admin_password")
    path.chmod(0o600)
    print(f"Compte du personnel : identifiant « {settings.admin_login} », mot de passe « {password} » "
          f"(enregistré dans {path})", file=sys.stderr, flush=True)
    return password
