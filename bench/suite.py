"""Where the test suite's time goes: `make test`'s pytest run (4 workers, one file each at
a time) with the CPU of every test file measured, its own process and the processes it
started and waited for (the stacks' web servers and workers, the browsers), and printed
most expensive first. On two cores the suite is CPU-bound: its wall time is about the
total CPU over two plus the tail of the last long files, so the CPU column says what a
change would save.

    .venv/bin/python bench/suite.py [--workers 4] [--top 40] [pytest arguments…]

PostgreSQL's own CPU (a server of the machine) is not counted."""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import pytest

if __package__ in (None, ""):  # run as a script: the project's root first, not bench/
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

ROOT = Path(__file__).resolve().parent.parent
OUT = "SUITE_CPU_DIR"

# -- the pytest plugin (``-p bench.suite``), in each pytest worker ----------------------------

_files: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    cpu, wall = _cpu(), time.monotonic()
    yield
    spent = _files[item.nodeid.split("::")[0]]
    spent[0] += _cpu() - cpu
    spent[1] += time.monotonic() - wall


def pytest_sessionfinish(session):
    folder = os.environ.get(OUT)
    if folder:
        (Path(folder) / f"{os.getpid()}.json").write_text(json.dumps(_files))


# -- the script -------------------------------------------------------------------------------

def main() -> int:
    parser = argparse.ArgumentParser(description="CPU and wall time of the test suite, file by file")
    parser.add_argument("--workers", type=int, default=4, help="pytest workers (make test: 4)")
    parser.add_argument("--top", type=int, default=40, help="files printed")
    options, pytest_args = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, OUT: folder, "PYTHONPATH": str(ROOT)}
        started = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", str(options.workers), "--dist", "loadfile",
                              "-p", "bench.suite", *pytest_args], cwd=ROOT, env=env)
        wall = time.monotonic() - started
        files: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for part in Path(folder).glob("*.json"):
            for name, (cpu, seconds) in json.loads(part.read_text()).items():
                files[name][0] += cpu
                files[name][1] += seconds
    total = sum(cpu for cpu, _ in files.values())
    print(f"\nsuite: {wall:.0f} s wall, {total:.0f} s of CPU in {len(files)} files "
          f"({total / 2:.0f} s on two cores at best); pytest exit status {run.returncode}")
    print(f"{'CPU s':>7} {'wall s':>7}  file")
    for name, (cpu, seconds) in sorted(files.items(), key=lambda item: -item[1][0])[:options.top]:
        print(f"{cpu:7.1f} {seconds:7.1f}  {name}")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
