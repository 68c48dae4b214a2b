"""Calls to the services' HTTP APIs with the signed-in user's bearer token."""
import requests
from flask import current_app, has_request_context, request

from shared.audit import REQUEST_ID_HEADER, request_id
from shared.auth import CLIENT_ADDRESS_HEADER, signed_client_address
from web.security import session_token

TIMEOUT = 20
UNAVAILABLE = "Le service est momentanément indisponible. Réessayez dans un instant."


class ApiFailure(Exception):
    """An API answered an error (or could not be reached): its French message and fields."""

    def __init__(self, status: int, message: str, fields: dict | None = None, body: dict | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.body = body or {}


def call(method: str, path: str, *, json=None, params=None, token: str | None = None, raw: bool = False,
         data: bytes | None = None, content_type: str | None = None, files=None, accept: str = "application/json"):
    """``call("get", "/api/adhesion/rates/2025-2026")`` → the decoded JSON answer.

    The token defaults to the session's. Errors raise ``ApiFailure`` carrying the
    service's French message; ``raw=True`` gives back the ``requests.Response`` itself."""
    headers = {"Accept": accept}
    if content_type:  # a body that is not JSON: the CSV file of the bulk import
        headers["Content-Type"] = content_type
    if token is None:
        token = session_token()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if has_request_context():
        headers[CLIENT_ADDRESS_HEADER] = signed_client_address(current_app.config["SECRET_KEY"], request.remote_addr or "")
        headers[REQUEST_ID_HEADER] = request_id()  # the page's request: one id in every service's audit records
    url = current_app.config["API_BASE_URL"] + path
    try:
        # One connection per call: a kept-alive one that the server has just closed would make a
        # POST fail (or, retried, happen twice); on the loopback or the gateway a connect is cheap.
        response = requests.request(method, url, json=json, data=data, params=params, files=files, headers=headers,
                                    timeout=TIMEOUT)
    except requests.RequestException as error:
        current_app.logger.warning("API unreachable: %s %s: %s", method.upper(), path, error)
        raise ApiFailure(503, UNAVAILABLE)
    if response.status_code >= 400:
        raise failure_of(response)
    if raw:
        return response
    if response.status_code == 204 or not response.content:
        return {}
    return response.json()


def failure_of(response: requests.Response) -> ApiFailure:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = body.get("message") or (UNAVAILABLE if response.status_code >= 500 else "La demande a été refusée.")
    fields = body.get("fields") if isinstance(body.get("fields"), dict) else {}
    return ApiFailure(response.status_code, message, fields, body)


def get(path: str, **kwargs):
    return call("get", path, **kwargs)


def get_or_none(path: str, *, also: tuple[int, ...] = (), **kwargs):
    """``get``, or None when the API answers 404 (nothing there yet) or one of the ``also``
    statuses a page chooses to show without that part; any other failure raises."""
    try:
        return get(path, **kwargs)
    except ApiFailure as failure:
        if failure.status == 404 or failure.status in also:
            return None
        raise


def post(path: str, **kwargs):
    return call("post", path, **kwargs)


def put(path: str, **kwargs):
    return call("put", path, **kwargs)


def patch(path: str, **kwargs):
    return call("patch", path, **kwargs)
