"""`python bench/cooperatives.py [N]`: the staff list, the campaign figures and the CSV
export of N cooperatives (default 600) with an adhesion each, on this machine's
PostgreSQL, through the adhesion app's HTTP layer (Flask test client). Prints timings."""
import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

# the project root instead of bench/ (the script's folder), where http.py would stand in for
# the standard library's http package
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from services.adhesion.app import create_app  # noqa: E402
from services.adhesion.models import Adhesion, AdhesionClass  # noqa: E402
from shared.service import shutdown  # noqa: E402
from tests.integration.test_departments import number_of, school_file  # noqa: E402
from tests.support import Client, fresh_postgres_database, prepared_app, test_settings  # noqa: E402

YEAR = "2025-2026"
STATUSES = ("draft", "submitted", "correction_requested", "validated")


def timed(client, path, headers, runs=7) -> str:
    took = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path, headers=headers)
        took.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.data[:300]
    return f"median {statistics.median(took):.0f} ms, worst {max(took):.0f} ms"


def main(count: int) -> None:
    with fresh_postgres_database() as url:
        settings = test_settings(Path(tempfile.mkdtemp()), url, broker_url="memory://")
        app = prepared_app(create_app, settings)
        client = Client(app)
        staff = client.login("admin", "admin-password")
        start = time.perf_counter()
        answer = client.post("/api/adhesion/cooperatives/import", headers=staff, data=school_file(count),
                             content_type="text/csv")
        print(f"import of {count} lines: {answer.json['created']} created in {time.perf_counter() - start:.2f} s")
        now = datetime(2025, 9, 1, 8, tzinfo=timezone.utc)
        with app.extensions["service"].database.session() as session:
            for i in range(1, count + 1):
                status = STATUSES[i % 4]
                adhesion = Adhesion(
                    cooperative=number_of(i), department="38", year=YEAR, status=status, insurance=bool(i % 2),
                    goods_value=Decimal("0.00"), instruments_value=Decimal("0.00"), pay_transfer=False,
                    pay_cheque=True, pay_other=False, late=False, engagement_signed=False, change_form="not_required",
                    amount_paid=Decimal("439.25") if i % 3 else Decimal("0.00"), payment_methods="cheque",
                    payments_seen=1, validation_count=int(status == "validated"), revision=1,
                    registration_code=f"26/{i:04d} A" if status == "validated" else None,
                    submitted_at=None if status == "draft" else now + timedelta(hours=i % 700),
                    validated_at=now + timedelta(hours=i % 700 + 24) if status == "validated" else None,
                    updated_at=now,
                )
                adhesion.classes = [AdhesionClass(position=k, name=f"CLASSE {k}", teachers="", teacher_count=1,
                                                  student_count=24) for k in range(6)]
                session.add(adhesion)
        for path in ("/api/adhesion/cooperatives?page=1&per_page=50",
                     "/api/adhesion/cooperatives?page=3&per_page=50&sort=status",
                     "/api/adhesion/cooperatives?q=moulin",
                     f"/api/adhesion/stats/{YEAR}",
                     f"/api/adhesion/adhesions/export.csv?year={YEAR}"):
            print(f"{path}: {timed(client, path, staff)}")
        shutdown(app)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the staff list, campaign figures and CSV export of N cooperatives")
    parser.add_argument("count", nargs="?", type=int, default=600, help="cooperatives (600)")
    main(parser.parse_args().count)
