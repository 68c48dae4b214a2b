"""What the OpenAPI documents say of path parameters beyond what Flask's converters give
(``{"type": "string", "minLength": 1}``): a cooperative number's and a school year's
shape, and an example of each, so a generated request (schemathesis, a client generator)
reaches the handler instead of stopping at a 400, and a reader sees what to send."""
from apispec import BasePlugin
from marshmallow import fields

from shared.identifiers import NUMBER_RE

EXAMPLE_NUMBER = "0382296P00"
EXAMPLE_YEAR = "2025-2026"
# by the parameter's name, as every service names them
STRINGS = {
    "number": {"pattern": "^" + NUMBER_RE.pattern.lstrip("^").removesuffix("\\Z") + "$", "example": EXAMPLE_NUMBER,
               "description": "The cooperative's number (school UAI + account), capitals and digits"},
    "year": {"pattern": "^[0-9]{4}-[0-9]{4}$", "example": EXAMPLE_YEAR,
             "description": "School year, e.g. 2025-2026"},
}


class PathParameters(BasePlugin):
    """An apispec plugin run after flask-smorest's, which has listed the path's parameters."""

    def path_helper(self, path=None, operations=None, parameters=None, **kwargs):
        for parameter in parameters or ():
            if not isinstance(parameter, dict) or parameter.get("in") != "path":
                continue
            schema = parameter.setdefault("schema", {})
            known = STRINGS.get(parameter["name"])
            if known and schema.get("type") == "string":
                schema["pattern"] = known["pattern"]
                parameter.setdefault("example", known["example"])
                parameter.setdefault("description", known["description"])
            elif schema.get("type") == "integer":
                parameter.setdefault("example", 1)


def decimal_as_string(self, field, **kwargs) -> dict:
    """A Decimal carried as a JSON string (``"395.50"``, shared.fields.Money and the
    answers' amounts) is documented as the string it is, not as a number."""
    if isinstance(field, fields.Decimal) and field.as_string:
        return {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
    return {}


def typed_text(self, field, ret=None, **kwargs) -> dict:
    """What ``shared.fields.Text`` refuses, said in the documents as the pattern of what
    it takes: one line holds no control character nor line separator; a multiline text
    keeps its line breaks and tabs only. A client (and the fuzzer) then writes text that
    reaches the rules instead of a 422 on a stray control character."""
    from shared.fields import Text

    if not isinstance(field, Text) or "pattern" in (ret or {}):
        return {}
    if field.multiline:
        return {"pattern": "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$"}
    return {"pattern": "^[^\\x00-\\x1f\\x7f-\\x9f\\u2028\\u2029]*$"}


def link(method: str, path: str, description: str, **parameters: str) -> dict:
    """An OpenAPI link to the operation ``method path`` (the path as the document writes
    it, ``{name}`` parameters included), its parameters given by runtime expressions:
    ``$response.body#/id``, ``$request.path.number``. A client (and the fuzzer's
    stateful phase) follows it from an answer to the next call on what the answer made."""
    pointer = path.replace("~", "~0").replace("/", "~1")
    return {"operationRef": f"#/paths/{pointer}/{method.lower()}", "description": description,
            "parameters": parameters}


def links(status: int, **named: dict) -> dict:
    """``blp.doc`` keywords that attach ``named`` links to the answer ``status``. The
    status is the int ``blp.response`` documents it under, so the two merge into one
    response entry (a ``"201"`` would be a second key, and one would replace the other)."""
    return {"responses": {status: {"links": named}}}
