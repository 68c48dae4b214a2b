"""Before the tests: PostgreSQL must answer on this machine (started with the machine's own
command when it is down; a loud failure when it stays down). Redis is not needed here:
each test session starts its own `redis-server` on a free port."""
import glob
import os
import socket
import subprocess
import sys
import time

SERVICES = {
    "PostgreSQL": (
        ("127.0.0.1", 5432),
        "pg_ctlcluster --skip-systemctl-redirect {version} main start",
    ),
}


def reachable(address, timeout=1.0) -> bool:
    try:
        with socket.create_connection(address, timeout=timeout):
            return True
    except OSError:
        return False


def main() -> int:
    failed = []
    for name, (address, start) in SERVICES.items():
        if reachable(address):
            continue
        versions = [os.path.basename(p) for p in glob.glob("/etc/postgresql/*")]
        command = start.format(version=versions[0] if versions else "15")
        print(f"{name} is down on {address[0]}:{address[1]}; starting it: {command}", flush=True)
        subprocess.run(command, shell=True, check=False)
        deadline = time.monotonic() + 30
        while not reachable(address) and time.monotonic() < deadline:
            time.sleep(0.5)
        if not reachable(address):
            failed.append(name)
    if failed:
        print(f"FAILED: {', '.join(failed)} cannot be reached; the integration tests need them.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
