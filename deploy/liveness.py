"""`python -m deploy.liveness <queue>`: compose's health check of a worker container.

Healthy unless messages wait in the queue while the worker (node ``<queue>@<hostname>``)
has received none for WORKER_STUCK_SECONDS (shared/liveness.py). A stuck worker is
SIGKILLed (its pid is in its liveness file; compose runs the worker under ``init: true``,
so it is not PID 1 and the signal is not ignored): the container stops and its restart
policy starts it again, as ``make run``'s supervisor does. Exit status 1 when stuck."""
import json
import os
import signal
import socket
import sys

from shared import broker, liveness, outbox
from shared.config import load


def main(argv: list[str]) -> int:
    queue = argv[0]
    settings = load()
    name = f"{queue}@{socket.gethostname()}"
    path = liveness.path_of(settings.data_dir, name)
    last = liveness.last_received(settings.data_dir, name)
    if last is None:
        print(f"{name}: pas encore prêt")
        return 0  # still starting: compose's start_period covers it
    waiting = broker.depths(settings.broker_url, [queue])[queue].messages
    if not liveness.is_stuck(last, 0.0, waiting):
        print(f"{name}: {waiting} message(s) en attente, vivant")
        return 0
    pid = json.loads(path.read_text()).get("pid")
    print(f"{name}: {waiting} message(s) en attente et aucun pris depuis "
          f"{liveness.STUCK_AFTER_SECONDS:.0f} s : arrêt forcé (pid {pid})", flush=True)
    if pid:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass
    outbox.request_republish(settings.broker_url)  # what it popped without recording it
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
