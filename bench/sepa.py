"""Benchmark of a direct debit batch: 5,000 collections built into a ``pain.008`` file and
validated against the ISO 20022 schema, by the library alone and through the payment
service's use cases (SQLite by default, PostgreSQL with ``--postgresql``).

    .venv/bin/python bench/sepa.py [--collections 5000] [--postgresql]

Prints: the library building and validating ``pain.008.001.08`` and ``.02`` (the schema
compiled once, as in a running service), then the service building the batch (its
planning pass over every due, the batch row, its collections attached) and exporting it
(the file built and validated, the collections locked, the mandates' last use)."""
import argparse
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from sqlalchemy import insert, select  # noqa: E402

from banking import pain008  # noqa: E402
from services.payment import domain, sepa_batches  # noqa: E402
from services.payment.app import create_app, prepare  # noqa: E402
from services.payment.models import Collection, CollectionDate, Creditor, Due, Mandate  # noqa: E402
from shared.auth import Principal  # noqa: E402
from shared.service import shutdown  # noqa: E402
from tests.support import fresh_postgres_database, test_settings  # noqa: E402

YEAR = "2025-2026"
ADDRESS = pain008.Address("12 rue de l'École", "38000", "Grenoble", "FR")
IBAN = "FR7630006000011234567890189"


def number(n: int) -> str:
    return f"038{n:04d}B00"


def library(count: int) -> None:
    creditor = pain008.Creditor("OCCE de l'Isère", "FR72ZZZ123456", IBAN, "AGRIFRPP", ADDRESS)
    debits = [pain008.Debit(domain.payment_reference(number(n), YEAR), Decimal("439.25") + n % 97,
                            f"RKP-38-{number(n)}-001", date(2025, 9, 1), f"Coopérative école {n}",
                            "FR7630001007941234567890185", "", ADDRESS, f"Adhesion OCCE {YEAR}") for n in range(count)]
    for version in ("08", "02"):
        pain008.schema(version)  # compiled once per process, as in the service
        started = time.perf_counter()
        data = pain008.build("RKP-38-20251015", datetime.now(), date(2025, 10, 15), creditor, debits, version)
        print(f"library pain.008.001.{version}: {count} lines built and validated in "
              f"{time.perf_counter() - started:.2f} s ({len(data) / 1e6:.1f} MB)")


def service(count: int, postgresql: bool) -> None:
    database = fresh_postgres_database() if postgresql else nullcontext(None)
    with tempfile.TemporaryDirectory() as folder, database as url:
        settings = test_settings(Path(folder), url)
        prepare(settings)
        app = create_app(settings)
        ctx = app.extensions["service"]
        day = date.today() + timedelta(days=20)
        now = datetime.now(timezone.utc)
        with ctx.database.session() as session:
            session.add(Creditor(department="38", name="OCCE de l'Isère", ics="FR72ZZZ123456", iban=IBAN, bic="",
                                 street="12 rue de l'École", postcode="38000", town="Grenoble", country="FR",
                                 updated_by="bench", updated_at=now))
            session.add(CollectionDate(department="38", year=YEAR, day=day))
            session.execute(insert(Due), [dict(
                cooperative=number(n), year=YEAR, department="38", cooperative_name=f"Coopérative école {n}",
                cooperative_email=f"ce.{n}@ac-grenoble.fr", cooperative_town="VIENNE", department_name="OCCE 38",
                registration_code="", validated=False, direct_debit=True, department_email="",
                amount_due=Decimal("439.25") + n % 97, revision=1, updated_at=now) for n in range(count)])
            session.execute(insert(Mandate), [dict(
                rum=f"RKP-38-{number(n)}-001", department="38", cooperative=number(n), status="active",
                debtor_name=f"Coopérative école {n}", iban="FR7630001007941234567890185", bic="",
                street="1 place de la Mairie", postcode="38200", town="Vienne", country="FR",
                signed_on=date(2025, 9, 1), original_iban="", created_by="bench", created_at=now)
                for n in range(count)])
            ids = dict(session.execute(select(Mandate.cooperative, Mandate.id)).all())
            # planned and pre-notified already (as after the adhesions' submissions): the
            # batch is what is measured, not 5,000 notices going through the outbox
            session.execute(insert(Collection), [dict(
                cooperative=number(n), year=YEAR, department="38", mandate_id=ids[number(n)],
                rum=f"RKP-38-{number(n)}-001", amount=Decimal("439.25") + n % 97, collection_date=day,
                end_to_end_id=domain.payment_reference(number(n), YEAR), status="planned", original_iban="",
                reason_code="", reason="", notices=1, presentation=1, created_at=now) for n in range(count)])
        staff = Principal("bench", "staff", "38")
        with app.test_request_context():
            started = time.perf_counter()
            batch = sepa_batches.build_batch(ctx, staff, day)
            built = time.perf_counter() - started
            started = time.perf_counter()
            _, data = sepa_batches.export_batch(ctx, staff, batch["id"])
            exported = time.perf_counter() - started
        store = "PostgreSQL" if postgresql else "SQLite"
        print(f"service ({store}): batch of {batch['count']} collections (total {batch['total']}) built in "
              f"{built:.2f} s (a planning pass over every due included); exported in {exported:.2f} s (file built, "
              "validated against the XSD, collections and mandates updated)")
        pain008.check(data)
        shutdown(app)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--collections", type=int, default=5000)
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    library(args.collections)
    service(args.collections, args.postgresql)


if __name__ == "__main__":
    main()
