"""`make run`: the whole system in the foreground on the embedded defaults.

Starts the web server (every service behind one address), one Celery worker per service
queue as real processes, and a local SMTP sink when SMTP_HOST is unset. A child that
dies (a crash, a worker lost in a broker restart) is started again after a pause that
doubles with each quick death (1 s … 30 s), and the console says so; the others keep
running. A worker that stays up but stops taking messages (shared/liveness.py) is
killed, then started again the same way. Ctrl-C or SIGTERM stops every process it started.
"""
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from deploy.setup import prepare
from shared import liveness, outbox
from shared.config import load
from shared.events import queues_of, service_names

ROOT = Path(__file__).resolve().parent.parent
WORKER_CONCURRENCY = {"documents": 2}  # PDF rendering is the CPU-bound step
PR_SET_PDEATHSIG = 1
RESTART_PAUSE_FIRST, RESTART_PAUSE_MAX = 1.0, 30.0
STABLE_AFTER_SECONDS = 60  # a child that ran this long starts again from the shortest pause
LIVENESS_CHECK_SECONDS = 5.0


def worker_queues() -> dict[str, str]:
    """Child name -> the queue its worker consumes."""
    return {f"worker-{queue.replace('_', '-')}": queue for service in service_names() for queue in queues_of(service)}


def stuck_workers(settings, started_at: dict[str, float], children: dict, now: float | None = None,
                  broker_since: float = 0.0) -> list[str]:
    """The running workers that stopped taking messages (shared/liveness.py).
    ``started_at``: epoch seconds."""
    host = socket.gethostname()
    running = {queue: (f"{queue}@{host}", started_at[name]) for name, queue in worker_queues().items()
               if name in children and children[name].poll() is None}
    stuck = set(liveness.stuck_queues(settings.broker_url, settings.data_dir, running, broker_since, now))
    return [name for name, queue in worker_queues().items() if queue in stuck]


def metrics_folder(settings) -> str:
    """PROMETHEUS_MULTIPROC_DIR for every child, emptied at each start (docs/metrics.md):
    the counters start again with the run, never mixed with a past run's processes."""
    chosen = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if chosen:
        return chosen
    path = settings.data_dir / "metrics"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


DEFAULT_SINK_PORT = 8025


class SinkPortTaken(Exception):
    """SMTP_SINK_PORT names a port another program listens on."""


def _free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def sink_port(env: dict) -> int:
    """Where the local SMTP sink listens: SMTP_SINK_PORT when set (taken: SinkPortTaken,
    said in French at start), else 8025, else a free port (a second `make run` on one
    machine, or another program on 8025, never collides). The workers are given it."""
    host = env.get("SMTP_SINK_HOST", "127.0.0.1")
    wanted = env.get("SMTP_SINK_PORT")
    if wanted:
        if not _free(int(wanted), host):
            raise SinkPortTaken(f"Le port SMTP_SINK_PORT={wanted} est déjà pris sur {host} : choisissez-en un autre "
                                "(ou laissez SMTP_SINK_PORT vide pour un port libre).")
        return int(wanted)
    if _free(DEFAULT_SINK_PORT, host):
        return DEFAULT_SINK_PORT
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def commands(settings) -> dict[str, list[str]]:
    python = sys.executable
    procs = {}
    if not os.environ.get("SMTP_HOST"):
        procs["mail-sink"] = [python, "-m", "deploy.smtp_sink"]
    for service in service_names():
        extra = ["--max-tasks-per-child", "200"] if service == "documents" else []
        for queue in queues_of(service):  # a lane (notify_bulk) gets its own worker process
            procs[f"worker-{queue.replace('_', '-')}"] = [
                python, "-m", "celery", "-A", f"services.{service}.worker", "worker", "-Q", queue,
                "-c", str(WORKER_CONCURRENCY.get(queue, 1)), "-n", f"{queue}@%h", "-l", "WARNING",
                "--without-gossip", "--without-mingle", *extra,
            ]
    # the scheduler of the reminder rounds: one process, its state file under DATA_DIR
    procs["beat"] = [
        python, "-m", "celery", "-A", "services.adhesion.worker", "beat", "-l", "WARNING",
        "-s", str(settings.data_dir / "celerybeat-schedule"),
    ]
    procs["beat-ledger"] = [  # the CRF reminder rounds
        python, "-m", "celery", "-A", "services.ledger.worker", "beat", "-l", "WARNING",
        "-s", str(settings.data_dir / "celerybeat-schedule-ledger"),
    ]
    procs["web"] = [
        python, "-m", "gunicorn", "-b", f"127.0.0.1:{settings.port}", "-w", "2", "--threads", "4",
        "--graceful-timeout", "5", "deploy.wsgi:app",
    ]
    return procs


def _own_group_dying_with_us() -> None:
    """Run in each child before exec: its own process group (Ctrl-C reaches only this
    supervisor, which stops the children in order), and on Linux a SIGTERM if the
    supervisor itself is killed, so no worker outlives it."""
    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (AttributeError, OSError):  # not Linux: the supervisor's own stop still applies
        pass


def framed_admin_line(settings) -> str:
    """The staff account's login and password in a frame, the last thing printed at start:
    the workers' banners above it do not bury it."""
    path = settings.data_dir / "admin_password"
    password = path.read_text().strip() if path.exists() else "(voir ADMIN_PASSWORD)"
    line = f"Compte du personnel : identifiant « {settings.admin_login} », mot de passe « {password} » ({path})"
    rule = "═" * (len(line) + 2)
    return f"╔{rule}╗\n║ {line} ║\n╚{rule}╝"


def _wait_until_serving(port: int, children: dict, stopping, timeout: float = 60) -> None:
    """Until the pages answer and the workers had a moment to print their banners."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stopping():
        if any(child.poll() is not None for child in children.values()):
            return  # the main loop reports which one stopped
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                break
        except OSError:
            time.sleep(0.3)
    time.sleep(2)  # Celery prints its banner once connected to the broker: let it come first


def main() -> int:
    settings = load()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    prepare(settings)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DATA_DIR": str(settings.data_dir),
           "PROMETHEUS_MULTIPROC_DIR": metrics_folder(settings)}
    mail = ""
    if not os.environ.get("SMTP_HOST"):
        try:
            env["SMTP_SINK_PORT"] = str(sink_port(env))
        except SinkPortTaken as exc:
            print(exc, file=sys.stderr, flush=True)
            return 2
        if not os.environ.get("SMTP_PORT"):
            env["SMTP_PORT"] = env["SMTP_SINK_PORT"]
        mail = f"; e-mails : {settings.data_dir / 'mail'} (SMTP 127.0.0.1:{env['SMTP_SINK_PORT']})"
    children: dict[str, subprocess.Popen] = {}
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    wanted = commands(settings)
    started_at: dict[str, float] = {}
    started_wall: dict[str, float] = {}  # the same in epoch seconds, compared with the liveness files
    pauses = {name: RESTART_PAUSE_FIRST for name in wanted}
    restart_at: dict[str, float] = {}

    def launch(name):
        children[name] = subprocess.Popen(wanted[name], cwd=ROOT, env=env, preexec_fn=_own_group_dying_with_us)
        started_at[name] = time.monotonic()
        started_wall[name] = time.time()

    for name in wanted:
        launch(name)
    _wait_until_serving(settings.port, children, lambda: stopping)
    print(f"Retkoop adhésion : http://127.0.0.1:{settings.port}  (données : {settings.data_dir}; "
          f"Ctrl-C pour tout arrêter){mail}", flush=True)
    if not os.environ.get("ADMIN_PASSWORD"):
        print(framed_admin_line(settings), flush=True)
    code = 0
    checked_at, check_failing, broker_since = time.monotonic(), False, 0.0
    while not stopping:
        now = time.monotonic()
        if now - checked_at >= LIVENESS_CHECK_SECONDS:
            checked_at = now
            try:
                stuck = stuck_workers(settings, started_wall, children, broker_since=broker_since)
                check_failing = False
            except Exception as exc:  # the broker unreachable: nothing to judge by; the workers wait for it too
                if not check_failing:  # one line per outage
                    print(f"contrôle des workers impossible : {exc}", file=sys.stderr, flush=True)
                check_failing, stuck, broker_since = True, [], time.time()
            for name in stuck:
                print(f"{name} ne prend plus de messages depuis {liveness.STUCK_AFTER_SECONDS:.0f} s alors que "
                      f"sa file en attend : arrêt forcé puis redémarrage.", file=sys.stderr, flush=True)
                os.killpg(children[name].pid, signal.SIGKILL)
                children[name].wait(10)
            if stuck:  # what it had popped without recording it: the relays publish it again
                try:
                    outbox.request_republish(settings.broker_url)
                except Exception as exc:
                    print(f"republication impossible : {exc}", file=sys.stderr, flush=True)
        for name, child in children.items():
            if name in restart_at or child.poll() is None:
                continue
            if now - started_at[name] >= STABLE_AFTER_SECONDS:
                pauses[name] = RESTART_PAUSE_FIRST
            pause = pauses[name]
            pauses[name] = min(pause * 2, RESTART_PAUSE_MAX)
            restart_at[name] = now + pause
            print(f"{name} s'est arrêté (code {child.returncode}) : redémarrage dans {pause:.0f} s.",
                  file=sys.stderr, flush=True)
        for name, when in list(restart_at.items()):
            if now >= when and not stopping:
                del restart_at[name]
                launch(name)
                print(f"{name} redémarré.", file=sys.stderr, flush=True)
        time.sleep(0.5)
    for child in children.values():
        if child.poll() is None:  # the main process only: Celery and gunicorn stop their own children
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for child in children.values():
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
    return code


if __name__ == "__main__":
    sys.exit(main())
