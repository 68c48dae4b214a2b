"""Benchmark of statement import and matching: a 5,000-line CAMT.053 against 1,500 open
adhesions, through the payment service's HTTP API on PostgreSQL (or SQLite with
``--sqlite``).

    .venv/bin/python bench/reconcile.py [--lines 5000] [--adhesions 1500] [--sqlite]

Prints: parsing alone (lines/s), matching alone (the department's index built once, then
every credit), the whole import call (parse + fingerprints + duplicates check + matching +
insert), listing the lines with fresh suggestions, and a re-import of the same file.
The statement mixes what September brings: transfers quoting the RF reference, the
cooperative number or the registration code, names only, town halls paying for two
schools, cheque slips' credits, debits."""
import argparse
import io
import random
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

# the project root instead of bench/ (the script's folder), where http.py would stand in for
# the standard library's http package
sys.path[0] = str(Path(__file__).resolve().parent.parent)

from banking.statements import read_statement  # noqa: E402
from services.payment import domain  # noqa: E402
from services.payment.app import create_app, prepare  # noqa: E402
from services.payment.models import Due  # noqa: E402
from shared.auth import Principal, open_session  # noqa: E402
from shared.service import shutdown  # noqa: E402
from tests.statement_files import Movement, camt053  # noqa: E402
from tests.support import fresh_postgres_database, test_settings  # noqa: E402

YEAR = "2025-2026"
TOWNS = ["VIENNE", "GRENOBLE", "VOIRON", "BOURGOIN-JALLIEU", "ECHIROLLES", "MEYLAN", "CROLLES", "LA MURE",
         "SAINT-MARCELLIN", "VIZILLE", "ROUSSILLON", "PONTCHARRA"]
NAMES = ["Jean Moulin", "Victor Hugo", "Jules Ferry", "Les Tilleuls", "Pasteur", "Marie Curie", "Louis Pergaud",
         "Les Glycines", "Le Vercors", "Jean Jaurès", "Paul Bert", "Condorcet", "Les Marronniers", "Chartreuse",
         "Belledonne", "Anatole France", "Saint-Exupéry", "Jacques Prévert", "Robert Desnos", "Les Écrins"]


def cooperatives(count: int, rng: random.Random) -> list[dict]:
    result = []
    for i in range(count):
        amount = Decimal(rng.randrange(5000, 150000)) / 100
        result.append({"number": f"038{i:04d}X00", "name": f"Coopérative Scolaire de l'École {NAMES[i % len(NAMES)]}"
                       f" {i // len(NAMES) + 1}", "town": TOWNS[i % len(TOWNS)], "amount_due": amount})
    return result


def movements(coops: list[dict], count: int, rng: random.Random) -> list[Movement]:
    start = date(2025, 9, 1)
    result = []
    while len(result) < count:
        day = start + timedelta(days=rng.randrange(30))
        kind = rng.random()
        coop = rng.choice(coops)
        amount = coop["amount_due"]
        if kind < 0.40:
            reference = domain.format_reference(domain.payment_reference(coop["number"], YEAR))
            result.append(Movement(day, amount, f"VIR SEPA ADHESION OCCE {reference}", "COOP SCOL"))
        elif kind < 0.60:
            result.append(Movement(day, amount, f"COTISATION {coop['number']}", coop["name"].upper()[:70]))
        elif kind < 0.72:
            result.append(Movement(day, amount, "VIREMENT ADHESION", coop["name"].upper()[:70]))
        elif kind < 0.80:
            other = rng.choice(coops)
            result.append(Movement(day, coop["amount_due"] + other["amount_due"],
                                   f"MAIRIE {coop['number']} {other['number']}", f"MAIRIE DE {coop['town']}"))
        elif kind < 0.85:
            result.append(Movement(day, Decimal(rng.randrange(100, 900000)) / 100, "REMISE CHEQUES", ""))
        else:
            result.append(Movement(day, -Decimal(rng.randrange(100, 50000)) / 100, "PRLV SEPA FOURNISSEUR", ""))
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=5000)
    parser.add_argument("--adhesions", type=int, default=1500)
    parser.add_argument("--sqlite", action="store_true", help="the embedded store instead of PostgreSQL")
    args = parser.parse_args()
    rng = random.Random(2025)
    coops = cooperatives(args.adhesions, rng)
    data = camt053(movements(coops, args.lines, rng), version="08")
    print(f"statement: {args.lines} lines, {len(data) / 1024 / 1024:.1f} MB CAMT.053; {args.adhesions} open adhesions")

    read_statement(camt053(movements(coops, 10, rng), version="08"))  # imports and caches warm, as in a server
    started = time.perf_counter()
    statement = read_statement(data)
    parse = time.perf_counter() - started
    print(f"parse + fingerprints alone: {parse:.2f} s ({len(statement.lines) / parse:,.0f} lines/s)")

    open_dues = [domain.OpenDue(c["number"], YEAR, c["name"], c["town"], c["amount_due"]) for c in coops]
    started = time.perf_counter()
    matcher = domain.Matcher(open_dues)
    built = time.perf_counter() - started
    credits = [line for line in statement.lines if line.amount > 0]
    started = time.perf_counter()
    results = [matcher.suggest(domain.Credit(line.amount, line.label, line.payer, line.payer_iban)) for line in credits]
    matching = time.perf_counter() - started
    sure = sum(1 for r in results if r and domain.confident(r[0]))
    print(f"matching alone: index {built * 1000:.0f} ms, {len(credits)} credits in {matching:.2f} s "
          f"({len(credits) / matching:,.0f} credits/s); {sure} sure (≥ 0.9), "
          f"{sum(1 for r in results if r) - sure} proposed, {sum(1 for r in results if not r)} without suggestion")

    with tempfile.TemporaryDirectory() as tmp, (nullcontext(None) if args.sqlite else fresh_postgres_database()) as url:
        settings = test_settings(Path(tmp), url, broker_url=f"sqla+sqlite:///{tmp}/broker.db")
        prepare(settings)
        app = create_app(settings)
        try:
            with app.extensions["service"].database.session() as session:
                now = datetime.now(timezone.utc)
                session.add_all(Due(cooperative=c["number"], year=YEAR, department="38", cooperative_name=c["name"],
                                    cooperative_town=c["town"], amount_due=c["amount_due"], revision=1,
                                    updated_at=now) for c in coops)
            client = app.test_client()
            with app.app_context():
                token, _ = open_session(app.extensions["auth_sessions"], Principal("bench", "staff", "38"))
            headers = {"Authorization": f"Bearer {token}"}
            store = "SQLite" if args.sqlite else "PostgreSQL"
            started = time.perf_counter()
            answer = client.post("/api/payment/statements", headers=headers,
                                 data={"file": (io.BytesIO(data), "bench.xml")}, content_type="multipart/form-data")
            total = time.perf_counter() - started
            assert answer.status_code == 201, answer.json
            print(f"import call on {store} (parse, fingerprints, duplicates, matching, insert): {total:.2f} s "
                  f"({answer.json['new_lines'] / total:,.0f} lines/s)")
            started = time.perf_counter()
            listed = client.get(f"/api/payment/statements/{answer.json['id']}/lines", headers=headers)
            print(f"listing the {len(listed.json['items'])} lines with fresh suggestions: "
                  f"{time.perf_counter() - started:.2f} s")
            started = time.perf_counter()
            again = client.post("/api/payment/statements", headers=headers,
                                data={"file": (io.BytesIO(data), "bench.xml")}, content_type="multipart/form-data")
            print(f"re-import of the same file: {time.perf_counter() - started:.2f} s, "
                  f"{again.json['new_lines']} new, {again.json['duplicates']} duplicates")
        finally:
            shutdown(app)


if __name__ == "__main__":
    main()
