"""The parts of ``docs/`` that the code can say itself.

``python -m deploy.docs > docs/routes.md`` writes every HTTP route of the install: the API
calls from each service's OpenAPI document, then the pages of ``web/`` from their URL map.
``python -m deploy.docs --settings`` lists the environment variables the code reads, with
the files that read them; ``docs/settings.md`` explains each one. ``tests/unit/test_docs.py``
keeps both files in step with the code.
"""
import ast
import importlib
import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where run configuration is read: the services, what they share, the pages and the start-up.
CONFIGURED = ("services", "shared", "web", "deploy")
METHODS = ("get", "post", "put", "patch", "delete")


@contextmanager
def _scratch_settings():
    """Settings whose DATA_DIR is a throw-away folder: building the apps writes nothing of
    the real run (``shared.config.load`` creates DATA_DIR and its signing key)."""
    from shared.config import load

    saved = {name: os.environ.get(name) for name in ("DATA_DIR", "SECRET_KEY")}
    with tempfile.TemporaryDirectory() as folder:
        os.environ.update(DATA_DIR=folder, SECRET_KEY="docs")
        try:
            yield load()
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def openapi_documents() -> dict[str, dict]:
    """Each service's OpenAPI document, as ``GET /api/<service>/openapi.json`` serves it
    (built from the app, without a request: no store is opened)."""
    from shared.events import service_names

    documents = {}
    with _scratch_settings() as settings:
        for name in service_names():
            app = importlib.import_module(f"services.{name}.app").create_app(settings)
            api = app.extensions["flask-smorest"]["apis"][""]["ext_obj"]
            documents[name] = api.spec.to_dict()
    return documents


def _pages() -> list[tuple[str, str, str]]:
    """The pages of ``web/``: (path, methods, what the view's docstring says)."""
    from web.app import create_app

    with _scratch_settings() as settings:
        app = create_app(settings)
    pages: dict[str, tuple[set[str], list[str]]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods, docs = pages.setdefault(rule.rule, (set(), []))
        methods.update(rule.methods - {"HEAD", "OPTIONS"})
        doc = _first_paragraph(app.view_functions[rule.endpoint].__doc__)
        if doc and doc not in docs:
            docs.append(doc)
    return [(path, ", ".join(sorted(methods)), " ".join(docs)) for path, (methods, docs) in sorted(pages.items())]


def _first_paragraph(text: str | None) -> str:
    paragraph = (text or "").strip().split("\n\n")[0]
    return " ".join(paragraph.split()).replace("|", "\\|")


def _name(schema: dict) -> str | None:
    """The shape a schema names (``AdhesionOut``; ``[ClassRow]`` for a list of them)."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[1]
    if schema.get("type") == "array" and "$ref" in schema.get("items", {}):
        return f"[{_name(schema['items'])}]"
    return None


def _shape(content: dict, used: set[str]) -> str:
    """What a body or an answer carries: its shape's name, or its media type (files)."""
    for media, described in content.items():
        name = _name(described.get("schema", {}))
        if media == "application/json" and name:
            used.add(name.strip("[]"))
            return f"`{name}`"
        return "JSON" if media == "application/json" else f"`{media}`"
    return ""


def _call(path: str, method: str, operation: dict, used: set[str]) -> str:
    query = [p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"]
    where = f"`{method.upper()} {path}" + ("?" + "&".join(f"{q}=" for q in query) if query else "") + "`"
    body = _shape(operation.get("requestBody", {}).get("content", {}), used)
    answers = []
    for code, response in sorted(operation.get("responses", {}).items()):
        if code != "default":
            shape = _shape(response.get("content", {}), used) if code.startswith("2") else ""
            answers.append(f"{code} {shape}".strip())
    return f"| {where} | {body} | {'; '.join(answers)} | {_first_paragraph(operation.get('summary'))} |"


def _shapes(document: dict, used: set[str]) -> list[str]:
    """The fields of every shape the calls name, and of the shapes inside them
    (``*``: required in a body)."""
    schemas = document.get("components", {}).get("schemas", {})
    pending, seen, rows = sorted(used), set(), []
    while pending:
        name = pending.pop(0)
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        schema, fields = schemas[name], []
        for field, described in schema.get("properties", {}).items():
            inner = _name(described)
            if inner:
                pending.append(inner.strip("[]"))
            mark = "*" if field in schema.get("required", ()) else ""
            fields.append(f"`{field}`{mark}" + (f" {inner}" if inner else ""))
        rows.append((name, ", ".join(fields)))
    return [f"| `{name}` | {fields} |" for name, fields in sorted(rows)]


def routes() -> str:
    lines = [
        "# HTTP routes",
        "",
        "Generated by `python -m deploy.docs > docs/routes.md` (a test keeps it in step) from each",
        "service's OpenAPI document (`GET /api/<service>/openapi.json`) and the URL map of the pages.",
        "Who may call what, the error shape and the limits every call shares are in",
        "[http.md](http.md); the answers below are those each document declares, and the error",
        "answers of [http.md](http.md#3-errors) apply to every call. Shapes list their fields",
        "(`*`: required in a body; money travels as a decimal string, `\"395.50\"`).",
    ]
    for name, document in openapi_documents().items():
        tags = "; ".join(tag["description"] for tag in document.get("tags", []))
        used: set[str] = set()
        calls = [_call(path, method, operations[method], used)
                 for path, operations in sorted(document["paths"].items())
                 for method in METHODS if method in operations]
        lines += ["", f"## {name}", "", f"{tags}.", "", "| call | body | answers | what it does |", "|---|---|---|---|",
                  *calls, "", f"Shapes of {name}:", "", "| shape | fields |", "|---|---|", *_shapes(document, used)]
    lines += ["", "## web pages", "", "Server-rendered French pages (`web/`); they call the APIs above over HTTP.", "",
              "| page | methods | what it does |", "|---|---|---|"]
    lines += [f"| `{path}` | {methods} | {what} |" for path, methods, what in _pages()]
    return "\n".join(lines) + "\n"


def _is_environ(node: ast.AST, aliases: set[str]) -> bool:
    if isinstance(node, ast.Attribute) and node.attr == "environ":
        return isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id in aliases


def _variable(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f"{service.upper()}_DATABASE_URL" → <SERVICE>_DATABASE_URL
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(value.value)
            else:
                names = [n.id for n in ast.walk(value) if isinstance(n, ast.Name)]
                parts.append(f"<{(names[0] if names else 'x').upper()}>")
        return "".join(parts)
    return None


def variables_read(source: str) -> set[str]:
    """The environment variables one module reads: ``os.environ.get("X")``, ``os.environ["X"]``,
    ``os.getenv("X")``, and the same through a name bound to ``os.environ``."""
    tree = ast.parse(source)
    aliases = {target.id for node in ast.walk(tree) if isinstance(node, ast.Assign) and _is_environ(node.value, set())
               for target in node.targets if isinstance(target, ast.Name)}
    found = set()
    for node in ast.walk(tree):
        argument = None
        if isinstance(node, ast.Call) and node.args and isinstance(node.func, ast.Attribute):
            function = node.func
            if function.attr in ("get", "pop", "setdefault") and _is_environ(function.value, aliases) or function.attr == "getenv" and isinstance(function.value, ast.Name) and function.value.id == "os":
                argument = node.args[0]
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _is_environ(node.value, aliases):
            argument = node.slice
        name = _variable(argument) if argument is not None else None
        if name:
            found.add(name)
    return found


def environment_variables() -> dict[str, list[str]]:
    """Every environment variable the run reads → the files that read it."""
    readers: dict[str, list[str]] = {}
    for folder in CONFIGURED:
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in variables_read(path.read_text()):
                readers.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return dict(sorted(readers.items()))


if __name__ == "__main__":
    if sys.argv[1:] == ["--settings"]:
        for name, files in environment_variables().items():
            print(f"{name}\t{', '.join(files)}")
    else:
        print(routes(), end="")
