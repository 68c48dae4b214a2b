"""The bench scripts are run by hand, not by the suite: at least each must still import
against today's code (a renamed function once broke bench/pipeline.py unnoticed)."""
import importlib
from pathlib import Path

import pytest

BENCHES = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "bench").glob("*.py") if p.stem != "__init__")


def test_there_are_benches():
    assert {"pipeline", "september", "http", "workers"} <= set(BENCHES)


@pytest.mark.parametrize("name", BENCHES)
def test_bench_imports(name):
    module = importlib.import_module(f"bench.{name}")
    assert callable(getattr(module, "main", None)), f"bench/{name}.py has no main()"
