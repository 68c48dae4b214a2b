"""The bench scripts are run by hand, not by the suite: at least each must still import
against today's code (a renamed function once broke bench/pipeline.py unnoticed)."""
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHES = sorted(p.stem for p in (ROOT / "bench").glob("*.py") if p.stem != "__init__")


def test_there_are_benches():
    assert {"pipeline", "september", "http", "workers"} <= set(BENCHES)


@pytest.mark.parametrize("name", BENCHES)
def test_bench_imports(name):
    module = importlib.import_module(f"bench.{name}")
    assert callable(getattr(module, "main", None)), f"bench/{name}.py has no main()"


def test_each_bench_starts_as_a_script():
    """Run as ``python bench/x.py``, the script's folder comes first on sys.path, where
    bench/http.py would shadow the standard library's http (bench/faults.py broke so)."""
    for name in BENCHES:
        shown = subprocess.run([sys.executable, f"bench/{name}.py", "--help"], cwd=ROOT, capture_output=True,
                               text=True, timeout=60)
        assert shown.returncode == 0 and "usage" in shown.stdout, (name, shown.stderr[-2000:])
