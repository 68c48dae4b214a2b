"""The common inside of every service's Flask app: settings, database, Celery, outbox
relay, JSON errors, OpenAPI, health."""
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from celery import Celery
from flask import Flask, current_app, jsonify
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from shared import audit, db, errors, guard, metrics
from shared.config import Settings, load
from shared.db import Database
from shared.errors import ServiceApi, is_outage, outage_response
from shared.openapi import PathParameters, decimal_as_string, typed_text
from shared.outbox import Relay
from shared.sessions import SessionStore

MAX_BODY = 256 * 1024
# A request whose database or broker drops out is re-run for this long before answering
# 503: a PostgreSQL restart (about a second) is then invisible to the caller.
OUTAGE_PATIENCE_SECONDS = 5.0

log = logging.getLogger(__name__)


class ServiceFlask(Flask):
    """Waits out short outages: a request that failed because the database or the broker
    could not be reached is run again from the start, as long as it has committed
    nothing (each unit of work rolled back, so re-running it is the same request again).
    A longer outage raises on, and the error handler answers 503."""

    def dispatch_request(self):
        deadline = time.monotonic() + OUTAGE_PATIENCE_SECONDS
        pause = 0.1
        while True:
            token = db.commits.set(0)
            try:
                return super().dispatch_request()
            except Exception as exc:
                if not is_outage(exc) or db.commits.get() or time.monotonic() + pause > deadline:
                    raise
                log.warning("outage during %s (%s); running it again in %.1f s", self.name, exc, pause)
            finally:
                db.commits.reset(token)
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def _answer_outage(exc):
    if not is_outage(exc):  # a handler registered for a broad class: keep the normal 500
        raise exc
    log.warning("answering 503: %s", exc)
    return outage_response()


class RowId(IntegerConverter):
    """``<int:…>`` in a path: a row id, 1 to 2³¹−1 (PostgreSQL's integer); a larger
    number matches no route (404) instead of overflowing the database driver. Written as
    the service writes it: ASCII digits without leading zero (``\\d`` would take ``１２``
    or ``٣``, and ``012`` would be a second address of row 12)."""

    regex = r"[1-9][0-9]{0,9}"

    def __init__(self, url_map, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, **kwargs)


@dataclass
class ServiceContext:
    name: str
    settings: Settings
    database: Database
    celery: Celery
    relay: Relay | None

    def publish(self) -> None:
        """Publish the events a use case just committed (the relay's sweep catches the rest)."""
        if self.relay is not None:
            self.relay.poke()

    def audit(self, session, action: str, target: str, details: dict | None = None, **who) -> None:
        """One audit record of the change ``session`` is making (``shared.audit.record``),
        published once that transaction commits; rolled back with it otherwise."""
        from sqlalchemy import event

        if self.relay is None:
            raise RuntimeError(f"{self.name} has no outbox: it cannot record audit events")
        audit.record(session, self.relay.model, self.name, action, target, details, **who)
        if not session.info.get("audit_publish"):
            session.info["audit_publish"] = True
            event.listen(session, "after_commit", self._publish_after_commit, once=True)

    def _publish_after_commit(self, _session) -> None:
        self.publish()


def create_service_app(name: str, outbox_model=None, settings: Settings | None = None) -> tuple[Flask, ServiceApi]:
    """The service's app, without I/O: its store is migrated by the start-up step first."""
    from shared.celery_app import celery_init_app

    settings = settings or load()
    app = ServiceFlask(f"services.{name}")
    app.url_map.converters["int"] = RowId
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_BODY,
        API_TITLE=f"Retkoop {name}",
        API_VERSION="1.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=f"/api/{name}",
        OPENAPI_JSON_PATH="openapi.json",
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False
    guard.install(app)
    audit.install(app)
    errors.install(app)
    metrics.install(app, name)
    if settings.trusted_proxies:  # behind the gateway: the client address comes from X-Forwarded-For
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=1, x_host=1)
    database = Database(name, settings.database_url_for(name))
    celery = celery_init_app(app, name, settings)
    relay = Relay(database, outbox_model, celery, settings.outbox_sweep_seconds) if outbox_model else None
    app.extensions["service"] = ServiceContext(name, settings, database, celery, relay)
    app.extensions["auth_sessions"] = SessionStore(settings.database_url_for("auth"))
    if relay is not None:
        # The sweep runs in every process that serves requests: it publishes what a
        # crash or a broker outage left pending.
        app.before_request(relay.start)
    api = ServiceApi(app, spec_kwargs={"components": {"securitySchemes": {
        "bearer": {"type": "http", "scheme": "bearer"}}}, "extra_plugins": [PathParameters()]})
    api.ma_plugin.converter.add_attribute_function(decimal_as_string)
    api.ma_plugin.converter.add_attribute_function(typed_text)
    _answer_outages_with_503(app)

    @app.get(f"/api/{name}/health")
    def health():
        broker_ok = broker_reachable(celery)
        db_ok = database.ping()
        status = 200 if broker_ok and db_ok else 503
        body = {"status": "ok" if status == 200 else "unavailable", "database": db_ok, "broker": broker_ok}
        return jsonify(body), status

    return app, api


def _answer_outages_with_503(app: Flask) -> None:
    from kombu.exceptions import OperationalError as BrokerUnreachable
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeout
    from sqlalchemy.exc import DBAPIError

    for error in (DBAPIError, BrokerUnreachable, RedisConnectionError, RedisTimeout, ConnectionError, TimeoutError):
        app.register_error_handler(error, _answer_outage)


def service() -> ServiceContext:
    return current_app.extensions["service"]


def broker_reachable(celery: Celery) -> bool:
    try:
        with celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return True
    except Exception:  # any failure to reach the broker is "down"
        return False


def shutdown(app: Flask) -> None:
    """Stop the relay and close the connections of an app (tests, graceful exit)."""
    context = app.extensions["service"]
    if context.relay is not None:
        context.relay.stop()
    context.database.dispose()
    app.extensions["auth_sessions"].dispose()


@dataclass(frozen=True)
class ServiceDefinition:
    """A service as its ``app.py`` declares it; gives the two entry points every service
    has: ``create_app`` (the app, without I/O) and ``prepare`` (the start-up step)."""

    name: str
    blueprints: Sequence
    migrations: Path
    outbox_model: type | None = None  # none: the service publishes no event
    seed: Callable[[Database, Settings], None] | None = None  # first-start data, after the migration
    configure: Callable[[Flask], None] | None = None  # the service's own extensions, before its routes

    def create_app(self, settings: Settings | None = None) -> Flask:
        app, api = create_service_app(self.name, self.outbox_model, settings)
        if self.configure is not None:
            self.configure(app)
        for blueprint in self.blueprints:
            api.register_blueprint(blueprint)
        return app

    def prepare(self, settings: Settings | None = None) -> None:
        """Start-up step: migrate the store, then the first-start seed if the service has one."""
        settings = settings or load()
        database = Database(self.name, settings.database_url_for(self.name), self.migrations)
        try:
            database.migrate()
            if self.seed is not None:
                self.seed(database, settings)
        finally:
            database.dispose()
