"""Compose's health check of a worker (`python -m deploy.liveness <queue>`) on a real Redis:
healthy while idle or taking work; a worker with messages waiting that took none for
WORKER_STUCK_SECONDS is SIGKILLed (its pid from its liveness file) and the relays are
asked to publish again what it had popped."""
import json
import os
import socket
import subprocess
import sys
import time

import redis

from shared import liveness
from shared.outbox import EPOCH_KEY
from tests.support import ROOT


def check(tmp_path, redis_url, queue="documents"):
    env = {**os.environ, "DATA_DIR": str(tmp_path), "BROKER_URL": redis_url, "PYTHONPATH": str(ROOT),
           "WORKER_STUCK_SECONDS": "40"}
    return subprocess.run([sys.executable, "-m", "deploy.liveness", queue], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_health_check_kills_only_a_worker_that_stopped_taking_work(tmp_path, redis_url):
    client = redis.Redis.from_url(redis_url)
    worker = subprocess.Popen(["sleep", "300"])  # stands for the worker's main process: it is the one killed
    try:
        path = liveness.path_of(tmp_path, f"documents@{socket.gethostname()}")
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps({"name": path.name, "queues": ["documents"], "pid": worker.pid}))
        long_ago = time.time() - 120
        os.utime(path, (long_ago, long_ago))

        assert check(tmp_path, redis_url).returncode == 0  # idle: nothing waits, nothing to take
        client.lpush("documents", json.dumps({"headers": {"retkoop_published_at": time.time()}}))
        os.utime(path)  # … and taking work: healthy
        assert check(tmp_path, redis_url).returncode == 0
        assert worker.poll() is None

        os.utime(path, (long_ago, long_ago))  # a message waits, and it took none for two minutes
        stuck = check(tmp_path, redis_url)
        assert stuck.returncode == 1, stuck.stdout + stuck.stderr
        assert "arrêt forcé" in stuck.stdout
        assert worker.wait(10) == -9
        assert int(client.get(EPOCH_KEY)) == 1  # the relays publish again what it had popped
    finally:
        if worker.poll() is None:
            worker.kill()
