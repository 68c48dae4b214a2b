"""The event envelope, event contracts and who consumes which event (docs/events.md).

An event travels as a Celery task named ``<consumer>.<handler>`` on the consumer's own
queue; its single argument is the envelope as a plain dict. Each event has one written
``Contract`` (``contracts/<producer>.py``): its producer builds with it, its consumers
load with it. Who consumes what is declared by each service next to its handlers
(``@consumer`` in ``handlers.py``) and collected here, so the platform names no service.
"""
import importlib
import importlib.util
import pkgutil
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from functools import lru_cache

from marshmallow import INCLUDE, RAISE, Schema, ValidationError

# The package whose sub-packages are the services; each may have a ``handlers`` module.
SERVICES_PACKAGE = "services"


class ContractViolation(ValueError):
    """An event that does not follow its contract (a producer bug, or an unknown version)."""


@dataclass(frozen=True)
class Event:
    type: str
    data: dict
    version: int = 1
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, envelope: dict) -> "Event":
        return cls(
            type=envelope["type"],
            data=envelope["data"],
            version=envelope.get("version", 1),
            event_id=envelope["event_id"],
            occurred_at=envelope["occurred_at"],
        )


@dataclass(frozen=True, eq=False)  # hashed by identity: one object per event, a dict key
class Contract:
    """One event's written contract: name, version, fields (a marshmallow schema), example."""

    name: str
    version: int
    schema: type[Schema]
    example: dict
    description: str = ""

    def build(self, data: dict) -> Event:
        """The producer's side: exactly the contract's fields, or ContractViolation. ``data``
        may be typed (Decimals, dates: what a consumer loaded and passes on) or as it
        travels; the event carries it as it travels (``"439.25"``, ISO dates)."""
        return Event(type=self.name, version=self.version, data=self.raw(data))

    def raw(self, data: dict) -> dict:
        """``data`` as it travels, checked against the contract (unknown fields refused)."""
        try:
            return self.schema().dump(self.schema(unknown=RAISE).load(data))
        except ValidationError as exc:
            raise ContractViolation(f"{self.name} v{self.version}: {exc.messages}") from None

    def typed(self, data: dict) -> dict:
        """``data`` as it travels, read into Python values (Decimal, date, datetime). Fields
        added later by the producer are tolerated and kept as they are."""
        try:
            return self.schema(unknown=INCLUDE).load(data)
        except ValidationError as exc:
            raise ContractViolation(f"{self.name} v{self.version}: {exc.messages}") from None

    def load(self, envelope: dict) -> Event:
        """The consumer's side: the event, checked and typed (its ``data`` holds Decimals,
        dates and datetimes, so no consumer converts again); an unknown version is refused
        clearly. Fields added later by the producer are tolerated (kept in ``data``)."""
        try:
            event = Event.from_dict(envelope)
        except (KeyError, TypeError) as exc:
            raise ContractViolation(f"{self.name}: not an event envelope ({exc})") from exc
        if event.type != self.name:
            raise ContractViolation(f"expected {self.name}, got {event.type}")
        if event.version != self.version:
            raise ContractViolation(
                f"{self.name} v{event.version}: this consumer reads v{self.version} only")
        return replace(event, data=self.typed(event.data))

    def fields(self) -> dict[str, str]:
        """Field name → a short type description, for the documentation table."""
        return {name: _describe(f) for name, f in self.schema().fields.items()}


def _describe(f) -> str:
    nested = getattr(f, "nested", None) or getattr(getattr(f, "inner", None), "nested", None)
    kind = type(f).__name__.lower()
    if nested is not None:
        inner = nested() if isinstance(nested, type) else nested
        described = "{" + ", ".join(inner.fields) + "}"
        return f"[{described}]" if kind == "list" else described
    return kind


_SUBSCRIPTIONS: dict[str, dict[Contract, object]] = {}  # handlers module -> {contract: task}


def register_subscription(module: str, contract: Contract, task) -> None:
    """Called by ``shared.consumer.consumer`` as a handlers module is imported."""
    _SUBSCRIPTIONS.setdefault(module, {})[contract] = task


def subscriptions_of(service_name: str) -> dict[Contract, object]:
    """The contracts a service consumes and the task consuming each."""
    module = f"{SERVICES_PACKAGE}.{service_name}.handlers"
    importlib.import_module(module)
    return dict(_SUBSCRIPTIONS.get(module, {}))


@lru_cache(maxsize=1)
def subscribers() -> dict[str, tuple[str, ...]]:
    """Event name → the Celery task names that consume it, from every service's consumers
    (``@consumer`` in its ``handlers.py``). Adding a consumer touches the consumer only."""
    table: dict[str, list[str]] = {}
    for service_name in service_names():
        for contract, task in subscriptions_of(service_name).items():
            table.setdefault(contract.name, []).append(task.name)
    return {name: tuple(sorted(tasks)) for name, tasks in table.items()}


def service_names() -> list[str]:
    """The services of this install: the sub-packages of ``SERVICES_PACKAGE`` that have handlers."""
    package = importlib.import_module(SERVICES_PACKAGE)
    return sorted(
        info.name for info in pkgutil.iter_modules(package.__path__)
        if info.ispkg and importlib.util.find_spec(f"{SERVICES_PACKAGE}.{info.name}.handlers") is not None
    )


def queues_of(service_name: str) -> tuple[str, ...]:
    """The queues a service's workers consume: its own, then any lane its subscribed tasks
    name (``notify_bulk.on_reminder_due`` runs on ``notify_bulk``), each for its own worker."""
    lanes = {queue_of(task.name) for task in subscriptions_of(service_name).values()}
    return (service_name, *sorted(lanes - {service_name}))


def queue_of(task_name: str) -> str:
    """A task runs on its service's queue: the part of its name before the first dot."""
    return task_name.split(".", 1)[0]
