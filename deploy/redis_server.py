"""A private Redis server on a free port: each test session (or bench run) owns one, so
two runs on one machine never flush or stop each other's broker."""
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """``redis-server`` on 127.0.0.1 and a free port, its files in a private folder."""

    def __init__(self, port: int | None = None, appendonly: bool = False):
        self.port = port or free_port()
        self.appendonly = appendonly  # True: queues survive a restart, as compose's broker
        self.dir = Path(tempfile.mkdtemp(prefix="retkoop-redis-"))
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "RedisServer":
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "yes" if self.appendonly else "no",
             "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 15
        while not self.answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start: "
                                   + (self.dir / "redis.log").read_text(errors="replace")[-2000:])
            time.sleep(0.05)
        return self

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self, graceful: bool = False) -> None:
        """Stop the server (a broker outage in a fault test); ``start`` brings it back on the same port.
        ``graceful``: SIGTERM, as a restart of the service does (a persistent server writes its file first)."""
        if self.process and self.process.poll() is None:
            if graceful:
                self.process.terminate()
            else:
                self.process.kill()
            self.process.wait(30)
        while self.answers():
            time.sleep(0.05)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
