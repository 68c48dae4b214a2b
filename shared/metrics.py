"""``GET /metrics``: Prometheus text (docs/metrics.md).

Counters and histograms are kept by the process that counts (a gunicorn worker, a Celery
pool process) in ``PROMETHEUS_MULTIPROC_DIR``, and ``/metrics`` adds up every process's
files, so it answers for the whole install whichever process serves it. ``make run`` and
compose set that folder (``DATA_DIR/metrics``); without it each process counts alone.
Each file is named after the host and the process id, so containers sharing the data
volume never write into one another's files.

A service's own counters live in its ``figures.py`` (the documents drawn). Figures that
are a state rather than a count (queues, the outboxes, the email log, workers seen) are
read at each scrape (``shared.operations``, which asks each service's ``figures.py``).

Not public: with ``METRICS_TOKEN`` set, only ``Authorization: Bearer <token>``; without
it, only a caller on this machine that came through no proxy.
"""
import hmac
import os
import socket
import time

import prometheus_client
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily

MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
if MULTIPROC_DIR:
    _host = socket.gethostname().replace("_", "-")  # the file name's parts are split on "_"
    values.ValueClass = values.MultiProcessValue(process_identifier=lambda: f"{_host}-{os.getpid()}")

REQUESTS = Counter("retkoop_http_requests", "HTTP requests answered, by route template and status",
                   ["service", "method", "route", "status"])
LATENCY = Histogram("retkoop_http_request_duration_seconds", "Time to answer a request, by route template",
                    ["service", "route"], buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
TASKS = Counter("retkoop_tasks", "Celery tasks run, by name and outcome (success, retry, failure…)",
                ["task", "outcome"])
TASK_DURATION = Histogram("retkoop_task_duration_seconds", "Time a task ran, by name", ["task"],
                          buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60))


def install(app, service: str, route: bool = True) -> None:
    """Count every request of a Flask app by its route template (``/api/adhesion/adhesions/
    <number>/<year>``: bounded labels, never a cooperative number)."""
    from flask import g, request

    @app.before_request
    def _start():
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _count(response):
        started = g.pop("metrics_started", None)
        if started is None or request.path == "/metrics":
            return response
        route = request.url_rule.rule if request.url_rule is not None else "(aucune route)"
        REQUESTS.labels(service, request.method, route, str(response.status_code)).inc()
        LATENCY.labels(service, route).observe(time.perf_counter() - started)
        return response

    if route:
        app.add_url_rule("/metrics", "metrics", _flask_view(app))


def count_tasks() -> None:
    """In a worker: every task's outcome and duration (Celery's signals, in the pool process)."""
    from celery.signals import task_postrun, task_prerun

    started: dict[str, float] = {}

    @task_prerun.connect(weak=False)
    def _prerun(task_id=None, **_):
        started[task_id] = time.perf_counter()

    @task_postrun.connect(weak=False)
    def _postrun(task_id=None, task=None, state=None, **_):
        begun = started.pop(task_id, None)
        name = getattr(task, "name", "?")
        TASKS.labels(name, (state or "unknown").lower()).inc()
        if begun is not None:
            TASK_DURATION.labels(name).observe(time.perf_counter() - begun)


class LiveFigures:
    """A collector reading the install's state at each scrape."""

    def __init__(self, settings):
        self.settings = settings

    def collect(self):
        from shared import operations

        snapshot = operations.snapshot(self.settings)
        errors = GaugeMetricFamily("retkoop_scrape_errors", "1 when a part could not be read at this scrape",
                                   labels=["part"])
        for part in snapshot.errors:
            errors.add_metric([part], 1)
        yield errors
        queue = GaugeMetricFamily("retkoop_queue_messages", "Messages waiting in a broker queue", labels=["queue"])
        oldest = GaugeMetricFamily("retkoop_queue_oldest_message_age_seconds",
                                   "How long the oldest waiting message has waited", labels=["queue"])
        for depth in snapshot.queues:
            queue.add_metric([depth.queue], depth.messages)
            if depth.oldest_age is not None:
                oldest.add_metric([depth.queue], depth.oldest_age)
        yield queue
        yield oldest
        if snapshot.unacked is not None:
            yield GaugeMetricFamily("retkoop_broker_unacked_messages",
                                    "Messages taken by a worker and not acknowledged yet (Redis)",
                                    value=snapshot.unacked)
        pending = GaugeMetricFamily("retkoop_outbox_pending", "Outbox rows not published yet", labels=["service"])
        pending_age = GaugeMetricFamily("retkoop_outbox_oldest_pending_age_seconds",
                                        "Age of the oldest outbox row not published (0 when none)",
                                        labels=["service"])
        for backlog in snapshot.outboxes:
            pending.add_metric([backlog.service], backlog.pending)
            pending_age.add_metric([backlog.service], backlog.oldest_age or 0.0)
        yield pending
        yield pending_age
        emails = GaugeMetricFamily("retkoop_emails", "Emails in the log, by status and lane",
                                   labels=["status", "lane"])
        for (status, lane), count in sorted(snapshot.emails.items()):
            emails.add_metric([status, lane], count)
        yield emails
        workers = GaugeMetricFamily("retkoop_workers_seen", "Workers that took work in the last minute, by queue",
                                    labels=["queue"])
        for name, count in snapshot.workers_by_queue().items():
            workers.add_metric([name], count)
        yield workers


def exposition(settings) -> bytes:
    """Every process's counters added up, then the live figures."""
    live = CollectorRegistry(auto_describe=False)
    live.register(LiveFigures(settings))
    if MULTIPROC_DIR:
        from prometheus_client import multiprocess

        counted = CollectorRegistry()
        multiprocess.MultiProcessCollector(counted)
    else:
        counted = prometheus_client.REGISTRY
    return generate_latest(counted) + generate_latest(live)


def refusal(settings, headers, remote_addr: str | None) -> tuple[int, str] | None:
    """Why this caller may not read the metrics (status, message), or None."""
    token = settings.metrics_token
    if token:
        scheme, _, given = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return 401, "Authentification requise."
        if not hmac.compare_digest(given.strip().encode(), token.encode()):
            return 403, "Jeton refusé."
        return None
    proxied = any(headers.get(name) for name in ("X-Forwarded-For", "X-Real-IP", "Forwarded"))
    if proxied or remote_addr not in {"127.0.0.1", "::1"}:
        return 404, "Introuvable."  # no token set: served to this machine only, and not said to exist
    return None


def _flask_view(app):
    from flask import Response, jsonify, request

    def metrics():
        settings = app.extensions["service"].settings
        refused = refusal(settings, request.headers, request.environ.get("REMOTE_ADDR"))
        if refused:
            status, message = refused
            error = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}[status]
            return jsonify({"error": error, "message": message, "fields": {}}), status
        return Response(exposition(settings), mimetype=CONTENT_TYPE_LATEST)

    return metrics
