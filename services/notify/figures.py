"""What the notify service adds to ``/metrics`` and « État du système » (docs/metrics.md):
its email log by status and lane, read at each scrape by ``shared.operations``."""
from collections import Counter

from services.notify.domain import LANES, TRANSACTIONAL


def email_counts(query) -> dict[tuple[str, str], int]:
    """``(status, lane) -> count``; ``query(table, sql)`` runs ``sql`` on this service's
    ``table`` (named ``{table}`` in it) and gives its rows, or None before the table exists."""
    rows = query("messages", "SELECT status, kind, count(*) FROM {table} GROUP BY status, kind")
    counts: Counter = Counter()
    for status, kind, count in rows or ():
        counts[(status, LANES.get(kind, TRANSACTIONAL))] += count
    return dict(counts)
