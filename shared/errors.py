"""One JSON error shape for every service: ``{"error", "message", "fields"}``."""
from flask import jsonify
from flask_smorest import Api
from marshmallow import INCLUDE, Schema
from marshmallow import fields as ma_fields
from werkzeug.exceptions import HTTPException, InternalServerError

from shared.identifiers import path_problems

# An outage answers 503 with this hint; a short one is first waited out inside the request.
RETRY_AFTER_SECONDS = 5

SLUGS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}

MESSAGES = {
    400: "Requête invalide.",
    401: "Authentification requise.",
    403: "Accès refusé.",
    404: "Introuvable.",
    405: "Méthode non autorisée.",
    409: "Opération impossible dans l'état actuel.",
    413: "Le contenu envoyé dépasse 256 Ko.",
    415: "Le contenu doit être en JSON.",
    422: "Certaines valeurs sont invalides.",
    429: "Trop de tentatives : réessayez dans quelques minutes.",
    500: "Erreur interne.",
    503: "Service indisponible.",
}


class DomainError(Exception):
    """What a use case refuses, in the domain's words: the message a person reads, the
    fields it names, extra keys for the answer (``unmet=[…]``). Routes never catch these:
    one handler (``install``) answers them with the status of DOMAIN_STATUS, and a Celery
    consumer sees a plain exception, never an HTTP one."""

    def __init__(self, message: str = "", fields: dict | None = None, **extra):
        super().__init__(message)
        self.message, self.fields, self.extra = message, fields or {}, extra


class Invalid(DomainError):
    """Values the rules refuse (a field out of range, an incomplete adhesion)."""


class Malformed(DomainError):
    """A request that cannot be read (an address, an identifier, a file)."""


class Unauthenticated(DomainError):
    """No valid session or token."""


class Forbidden(DomainError):
    """Someone who may not: another cooperative, another department, a school on a staff step."""


class NotFound(DomainError):
    """Nothing of that name, or not for this caller."""


class Conflict(DomainError):
    """The state forbids it now (already validated, a number taken, a newer revision)."""


class TooLarge(DomainError):
    """More than the service accepts at once."""


class UnsupportedType(DomainError):
    """A file of a kind the step does not take (told from its bytes, not its name)."""


class TooManyAttempts(DomainError):
    """A throttle: retry later (``retry_after`` seconds in the answer's header)."""

    def __init__(self, message: str = "", retry_after: int | None = None, **extra):
        super().__init__(message, **extra)
        self.retry_after = retry_after


class Unavailable(DomainError):
    """A part the step needs is out of reach for now (a stored file, another service)."""


# The one mapping from domain errors to HTTP answers.
DOMAIN_STATUS = {
    Malformed: 400, Unauthenticated: 401, Forbidden: 403, NotFound: 404, Conflict: 409, TooLarge: 413,
    UnsupportedType: 415,
    Invalid: 422, TooManyAttempts: 429, Unavailable: 503,
}


def status_of(error: DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in DOMAIN_STATUS:
            return DOMAIN_STATUS[kind]
    return 400


def domain_error_response(error: DomainError):
    code = status_of(error)
    response = jsonify(error_body(code, error.message or None, error.fields, **error.extra))
    response.status_code = code
    if isinstance(error, TooManyAttempts) and error.retry_after:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def install(app) -> None:
    """Answer every domain error a route lets through with its status and the one JSON shape."""
    app.register_error_handler(DomainError, domain_error_response)


class ApiError(HTTPException):
    """Raised at the HTTP edge only (guards, path checks): ``raise ApiError(409, "…", unmet=[…])``
    adds extra keys to the body. Use cases raise a DomainError instead."""

    def __init__(self, code: int, message: str | None = None, fields: dict | None = None, **extra):
        super().__init__(description=message)
        self.code = code
        self.data = {"message": message or MESSAGES.get(code, ""), "errors": fields or {}, "extra": extra}


def error_body(code: int, message: str | None = None, fields: dict | None = None, **extra) -> dict:
    body = {"error": SLUGS.get(code, "error"), "message": message or MESSAGES.get(code, ""), "fields": fields or {}}
    body.update(extra)
    return body


def _fields_from(errors) -> dict:
    """webargs nests messages by location; the body's fields are what callers need."""
    if isinstance(errors, dict) and set(errors) <= {"json", "query", "path", "form", "headers", "view_args"}:
        merged = {}
        for location_errors in errors.values():
            if isinstance(location_errors, dict):
                merged.update(location_errors)
            else:
                merged["_schema"] = location_errors
        return merged
    return errors or {}


class ErrorOut(Schema):
    """Every error answer, as the OpenAPI documents describe it (the ``default`` response
    and each documented error status): more keys where a call says so (``unmet`` on a
    refused validation)."""

    class Meta:
        unknown = INCLUDE  # documented as additionalProperties: true

    error = ma_fields.String(required=True, metadata={"description": "What went wrong, e.g. invalid, not_found"})
    message = ma_fields.String(required=True, metadata={"description": "In French, for the person"})
    fields = ma_fields.Dict(required=True, metadata={"description": "The bad fields and their messages"})


class ServiceApi(Api):
    ERROR_SCHEMA = ErrorOut

    def handle_http_exception(self, error):
        if not isinstance(error, HTTPException):
            error = InternalServerError()
        code = error.code or 500
        data = getattr(error, "data", None) or {}
        fields = _fields_from(data.get("errors", data.get("messages")))
        message = data.get("message")
        if not message:
            message = MESSAGES.get(code, error.name)
        response = jsonify(error_body(code, message, fields, **data.get("extra", {})))
        response.status_code = code
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        return response


def checked_path(number: str | None = None, year: str | None = None) -> None:
    """A malformed cooperative number or school year in a path is a 400 naming it."""
    fields = path_problems(number, year)
    if fields:
        raise ApiError(400, "Adresse invalide.", fields)


def is_outage(exc: BaseException) -> bool:
    """The database or the broker could not be reached (restart, failover, network): the
    same step can succeed a moment later, unlike a bug or a constraint violation."""
    from kombu.exceptions import OperationalError as BrokerUnreachable
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeout
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    if isinstance(exc, (OperationalError, InterfaceError)):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (BrokerUnreachable, RedisConnectionError, RedisTimeout, ConnectionError, TimeoutError))


def outage_response():
    """503 with ``Retry-After``: nothing was changed, the client may send the same request again."""
    response = jsonify(error_body(503, "Service momentanément indisponible : réessayez dans quelques secondes."))
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
