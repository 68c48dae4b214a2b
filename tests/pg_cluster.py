"""A private PostgreSQL cluster on a free port, for fault tests that stop and restart the
server: the machine's PostgreSQL (and every other test run's databases) stays untouched.

PostgreSQL refuses to run as root, so when the tests run as root the cluster's files
belong to the ``postgres`` user and its commands run as that user."""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from deploy.redis_server import free_port


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if not path:
        raise RuntimeError(f"{name} not found: install PostgreSQL's server package")
    return path


class PostgresCluster:
    def __init__(self, max_connections: int = 100):
        self.port = free_port()
        self.max_connections = max_connections
        self.dir = Path(tempfile.mkdtemp(prefix="retkoop-pg-"))
        self.data = self.dir / "data"
        self._user = None
        if os.geteuid() == 0:
            self._user = pwd.getpwnam("postgres")
            os.chown(self.dir, self._user.pw_uid, self._user.pw_gid)

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = list(args)
        if self._user is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> "PostgresCluster":
        self._run(_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
        return self

    def start(self) -> "PostgresCluster":
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-o", self._options(),
                  "start")
        return self

    def _options(self) -> str:
        return f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections={self.max_connections}"

    def restart(self) -> None:
        """``pg_ctl restart -m fast``: every session is cut, as in a real restart."""
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-m", "fast",
                  "-o", self._options(), "restart")

    def stop(self) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-w", "-m", "fast", "stop", check=False)

    def answers(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=1) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.Error:
            return False

    def wait_up(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not self.answers():
            if time.monotonic() > deadline:
                raise RuntimeError("private PostgreSQL did not come back: " + self.log()[-2000:])
            time.sleep(0.1)

    def log(self) -> str:
        path = self.dir / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
