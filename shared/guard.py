"""What every service checks before a view runs and adds to every answer.

The JSON body is read once here, before webargs parses it with the plain ``json``
module, and refused with a 400 naming the field when it holds what would otherwise
fail deep inside a view as a 500: a lone surrogate (``"\\ud800"`` cannot be encoded for
PostgreSQL, a log line or an email), nesting deep enough for a ``RecursionError``, or an
integer literal of thousands of digits (Python refuses to convert past 4,300 digits,
and nothing here counts beyond a few).
"""
import json
import re

from flask import Flask, current_app, request

from shared.errors import ApiError

MAX_DEPTH = 32
MAX_INTEGER_DIGITS = 30
INVALID_JSON = "Le contenu n'est pas un JSON valide."

# A JSON string (with its escapes), or a bracket: enough to follow the nesting and the
# key being read without parsing the values.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"\s*:?|[\[\]{}]', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "Referrer-Policy": "no-referrer",
}


class _Refused:
    """Stands in for a value the body must not carry, so the walk can name its field."""

    def __init__(self, message: str):
        self.message = message


def install(app: Flask) -> None:
    app.before_request(check_json_body)
    app.after_request(add_security_headers)


def check_json_body() -> None:
    if request.method in ("GET", "HEAD", "OPTIONS", "DELETE") and not request.content_length:
        return
    if not request.is_json:
        return
    raw = request.get_data(cache=True)  # over MAX_CONTENT_LENGTH with a Content-Length: 413
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if request.content_length is None and limit and len(raw) >= limit and request.environ["wsgi.input"].read(1):
        # A chunked body is cut at the limit without a word by werkzeug: one byte more
        # than the limit means it was too large, not malformed.
        raise ApiError(413)
    if not raw.strip():
        return
    problems = json_body_problems(raw)
    if problems:
        raise ApiError(400, "Le contenu envoyé contient des valeurs refusées.", problems)


def json_body_problems(raw: bytes) -> dict:
    """The fields of a JSON document that no service accepts, nested as marshmallow nests
    its errors (``{"classes": {"0": {"name": [...]}}}``); empty when it is acceptable."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"_json": ["Le contenu doit être encodé en UTF-8."]}
    too_deep = _too_deep(text)
    if too_deep is not None:
        return {too_deep: [f"Imbrication trop profonde (au plus {MAX_DEPTH} niveaux)."]}
    try:
        document = json.loads(
            text,
            parse_int=_integer,
            parse_constant=lambda name: _Refused(f"{name} n'est pas un nombre accepté."),
        )
    except (ValueError, RecursionError):
        return {"_json": [INVALID_JSON]}
    return _walk(document) or {}


def _integer(literal: str):
    if len(literal.lstrip("-")) > MAX_INTEGER_DIGITS:
        return _Refused(f"Nombre trop long (au plus {MAX_INTEGER_DIGITS} chiffres).")
    return int(literal)


def _too_deep(text: str) -> str | None:
    """The top-level field under which the nesting passes MAX_DEPTH (``_json`` for the
    document itself), found without recursion."""
    depth, key = 0, "_json"
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return key
        elif token in "]}":
            depth -= 1
        elif depth == 1 and token.endswith(":"):
            try:
                key = json.loads(token.rstrip(": \t\r\n"))
            except ValueError:
                key = "_json"
            if not isinstance(key, str) or _SURROGATE.search(key):
                key = "_json"
    return None


def _walk(value):
    if isinstance(value, _Refused):
        return [value.message]
    if isinstance(value, str):
        return ["Caractère invalide (demi-paire UTF-16 isolée)."] if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        found = {}
        for key, item in value.items():
            if _SURROGATE.search(key):
                found["_json"] = ["Nom de champ invalide."]
            elif (problem := _walk(item)) is not None:
                found[key] = problem
        return found or None
    if isinstance(value, list):
        found = {str(i): problem for i, item in enumerate(value) if (problem := _walk(item)) is not None}
        return found or None
    return None


def add_security_headers(response):
    """No sniffing, no framing, no script: the APIs answer JSON and PDF, /verify a page."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response
