"""docs/ says what the code does: the generated route table is in step, every setting the
code reads is explained, every call the docs name exists, and every link lands."""
import re

import pytest

from deploy.docs import environment_variables, openapi_documents, routes, variables_read
from shared.events import service_names
from tests.support import ROOT

DOCS = ROOT / "docs"
# The pages that describe what is built (planned.md describes what is not).
BUILT = sorted(p for p in DOCS.glob("*.md") if p.name not in {"planned.md", "routes.md"})
CALL = re.compile(r"`(GET|POST|PUT|PATCH|DELETE) (/(?:api|verify)/[^\s`?]+)")
LINK = re.compile(r"\]\(([^)\s]+)\)")


@pytest.fixture(scope="module")
def documents():
    return openapi_documents()


def test_routes_table_is_generated_from_the_openapi_documents():
    assert (DOCS / "routes.md").read_text() == routes(), "run: python -m deploy.docs > docs/routes.md"


def test_settings_explain_every_variable_the_code_reads():
    row = re.compile(r"^\| `([A-Z<][A-Z0-9_<>]*)`(?:, `([A-Z][A-Z0-9_]*)`)?", re.M)
    table = row.findall((DOCS / "settings.md").read_text())
    explained = {name for row in table for name in row if name}
    read = set(environment_variables())
    assert read - explained == set(), "explain these in docs/settings.md (python -m deploy.docs --settings)"
    assert explained - read == set(), "docs/settings.md explains variables no code reads"


def test_variables_are_found_however_the_environment_is_read():
    source = (
        "import os\n"
        "env = os.environ\n"
        "a = os.environ.get('A')\n"
        "b = os.environ['B']\n"
        "c = os.getenv('C', '1')\n"
        "d = env.get('D') or 'x'\n"
        "e = os.environ.get(f'{service.upper()}_URL')\n"
        "f = request.environ.get('PATH_INFO')\n"
    )
    assert variables_read(source) == {"A", "B", "C", "D", "<SERVICE>_URL"}


def _normalised(path: str) -> str:
    return re.sub(r"\{[^}]*\}|<[^>]*>", "{}", path)


@pytest.mark.parametrize("page", BUILT, ids=lambda p: p.name)
def test_every_call_the_docs_name_exists(page, documents):
    served = {(method.upper(), _normalised(path)) for document in documents.values()
              for path, operations in document["paths"].items() for method in operations}
    served |= {("GET", f"/api/{{}}/{extra}") for extra in ("health", "openapi.json")}
    named = {(method, _normalised(path)) for method, path in CALL.findall(page.read_text())}
    assert named - served == set(), f"{page.name} names calls no service serves"


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#{1,6} (.+)$", re.sub(r"```.*?```", "", markdown, flags=re.S), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("page", [ROOT / "README.md", *sorted(DOCS.glob("*.md"))], ids=lambda p: p.name)
def test_links_land_on_a_file_and_a_heading(page):
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        landing = (page.parent / path).resolve() if path else page
        assert landing.exists(), f"{page.name}: {target} points at nothing"
        if anchor:
            assert anchor in _anchors(landing.read_text()), f"{page.name}: no heading #{anchor} in {landing.name}"


def test_the_readme_lists_each_folder_once():
    block = (ROOT / "README.md").read_text().split("## The shape", 1)[1].split("```")[1]
    folders = re.findall(r"^(\S+)", block, re.M)
    assert len(folders) == len(set(folders))
    services = {f"services/{name}" for name in service_names()}
    assert services | {"contracts/", "banking/", "shared/", "web/", "deploy/", "docs/", "tests/", "bench/"} == set(folders)
