"""Noticing a worker that stays connected but stops consuming (celery#7800: after a broker
reconnection the consumer may never take a message again, while the process, its pool
and its connection look healthy).

Each worker keeps a liveness file, ``DATA_DIR/liveness/<node name>``, whose time is the
last moment its main process received a message (Celery's ``task_received``). So that an
idle queue still gives it something to take, the scheduler sends each queue a
``<queue>.heartbeat`` task every ``HEARTBEAT_SECONDS`` (a no-op that expires). A worker
is stuck when messages wait in its queue and it has received none for
``WORKER_STUCK_SECONDS``: ``make run``'s supervisor (deploy/run.py) then kills it and
starts it again, and compose's health check (``python -m deploy.liveness``) does the
same in the worker's container. Its unacknowledged messages go back to the queue (Redis:
after the visibility timeout; RabbitMQ: when its connection closes).

The folder is shared by every worker of the install (compose: the data volume), which
also gives « État du système » the workers seen in the last minute.
"""
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

HEARTBEAT_SECONDS = float(os.environ.get("HEARTBEAT_SECONDS", "10"))
STUCK_AFTER_SECONDS = float(os.environ.get("WORKER_STUCK_SECONDS", "40"))
HEARTBEAT_TASK = "heartbeat"


@dataclass(frozen=True)
class Seen:
    name: str
    queues: tuple[str, ...]
    pid: int
    age: float  # seconds since it last received a message


def folder(data_dir) -> Path:
    return Path(data_dir) / "liveness"


def path_of(data_dir, name: str) -> Path:
    return folder(data_dir) / name.replace("/", "_")


def heartbeat_schedule(queues) -> dict:
    """Celery beat entries: one heartbeat per queue, expiring before the next so a worker
    away for an hour does not find a pile of them."""
    return {
        f"heartbeat-{queue}": {
            "task": f"{queue}.{HEARTBEAT_TASK}",
            "schedule": HEARTBEAT_SECONDS,
            "options": {"queue": queue, "expires": HEARTBEAT_SECONDS * 3},
        }
        for queue in queues
    }


def keep(celery_app, data_dir, queues) -> None:
    """In a worker process: the heartbeat tasks of its service's queues, and the liveness
    file touched at every message its main process receives."""
    from celery.signals import task_received, worker_ready

    for queue in queues:
        celery_app.task(name=f"{queue}.{HEARTBEAT_TASK}", ignore_result=True, shared=False)(_beat)

    state = {"path": None, "touched": 0.0}

    @worker_ready.connect(weak=False)
    def _ready(sender=None, **_):
        name = sender.hostname
        consumed = tuple(sorted(sender.app.amqp.queues.consume_from or ()))
        path = path_of(data_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"name": name, "queues": list(consumed), "pid": os.getpid()}))
        os.replace(tmp, path)
        state["path"] = path

    @task_received.connect(weak=False)
    def _received(**_):
        now = time.monotonic()
        if state["path"] is not None and now - state["touched"] >= 1.0:
            state["touched"] = now
            try:
                os.utime(state["path"])
            except FileNotFoundError:  # removed by hand: the next ready writes it again
                pass


def _beat():
    """The heartbeat: taking it is the proof; it does nothing."""


def last_received(data_dir, name: str) -> float | None:
    """Epoch seconds of the worker's last received message (or of its start)."""
    try:
        return path_of(data_dir, name).stat().st_mtime
    except FileNotFoundError:
        return None


def is_stuck(last: float | None, started: float, waiting: int, now: float | None = None,
             after: float = STUCK_AFTER_SECONDS) -> bool:
    """Messages wait in its queue and it has received none for ``after`` seconds (counted
    from its start when it never received any)."""
    now = now or time.time()
    return waiting > 0 and now - max(last or 0.0, started) > after


def stuck_queues(broker_url: str, data_dir, running: dict[str, tuple[str, float]], since: float = 0.0,
                 now: float | None = None, after: float = STUCK_AFTER_SECONDS) -> list[str]:
    """Of the running workers (queue -> its node name and its start, epoch seconds), the
    queues whose worker is stuck. ``since``: since when the broker has answered (a worker
    could take nothing while it was down, and needs a moment to reconnect). Raises what
    the broker raises when it cannot be reached: nothing to judge by then."""
    from shared import broker

    if not running:
        return []
    waiting = broker.depths(broker_url, set(running))
    return [queue for queue, (node, started) in running.items()
            if is_stuck(last_received(data_dir, node), max(started, since), waiting[queue].messages, now, after)]


def seen(data_dir, within: float) -> list[Seen]:
    """The workers whose liveness file was touched in the last ``within`` seconds."""
    found = []
    now = time.time()
    directory = folder(data_dir)
    if not directory.is_dir():
        return found
    for path in sorted(directory.iterdir()):
        if path.suffix == ".tmp":
            continue
        try:
            age = now - path.stat().st_mtime
            info = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if age <= within:
            found.append(Seen(info.get("name", path.name), tuple(info.get("queues", ())), int(info.get("pid", 0)),
                              max(0.0, age)))
    return found
