"""The shape every service keeps: the same files doing the same jobs, HTTP at the edge
only, the specification inside the repository."""
import ast
import re

import pytest

from shared.events import service_names
from tests.support import ROOT

SKELETON = ("domain.py", "models.py", "schemas.py", "service.py", "api.py", "handlers.py", "app.py", "worker.py")
SERVICES = service_names()
# What a route module may not touch: the database is the use cases' business.
QUERY_API = {"select", "insert", "update", "delete", "func", "or_", "and_", "Session", "text"}


def test_the_six_services_are_found():
    assert SERVICES == ["adhesion", "audit", "documents", "ledger", "notify", "payment"]


@pytest.mark.parametrize("name", SERVICES)
def test_every_service_has_the_skeletons_files(name):
    folder = ROOT / "services" / name
    assert [file for file in SKELETON if not (folder / file).is_file()] == []


def _imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, set()


def _route_modules():
    for name in SERVICES:
        for path in sorted((ROOT / "services" / name).glob("*.py")):
            if "Blueprint(" in path.read_text():
                yield path


@pytest.mark.parametrize("path", list(_route_modules()), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_route_modules_hold_no_query(path):
    for module, names in _imports(path):
        assert not (module.startswith("sqlalchemy") and names & QUERY_API), f"{path.name} imports {names} from {module}"
    assert ".session()" not in path.read_text(), f"{path.name} opens a database session"


def _use_case_modules():
    for name in SERVICES:
        for path in sorted((ROOT / "services" / name).glob("*.py")):
            if path.name in ("service.py", "repository.py", "handlers.py", "domain.py") or "Blueprint(" not in path.read_text():
                yield path


@pytest.mark.parametrize("path", list(_use_case_modules()), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_use_cases_raise_domain_errors_not_http_ones(path):
    assert not re.search(r"\bApiError\b", path.read_text()), f"{path} uses ApiError: raise a shared.errors domain error"


def test_the_code_points_inside_the_repository():
    found = []
    for folder in ("services", "shared", "banking", "web", "deploy", "contracts"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".html", ".js", ".conf", ".yml") and "SPEC" in path.read_text():
                found.append(str(path.relative_to(ROOT)))
    assert found == []
