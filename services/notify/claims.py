"""Fetching the PDFs a ``documents.generated`` event points to (the claim check): over
the documents API, with a service credential signed with SECRET_KEY, each PDF checked
against the size and SHA-256 the event gives."""
import hashlib
import logging
import os
import threading

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from services.notify.domain import Claim
from shared.auth import issue_service_token

log = logging.getLogger(__name__)

SERVICE_NAME = "notify"
TIMEOUT = (3, 20)  # connect, read (seconds)
# A blip (a restart of the documents app, a full listen queue) is waited out inside the
# task; a longer outage raises DocumentsUnavailable and Celery retries with backoff.
QUICK_RETRIES = Retry(total=3, connect=3, read=2, status=3, backoff_factor=0.3,
                      status_forcelist=(502, 503, 504), allowed_methods=("GET",), raise_on_status=False)


class DocumentsUnavailable(Exception):
    """The documents API did not give the PDF now (down, 5xx): retry later."""


class ClaimNotHonoured(DocumentsUnavailable):
    """The documents API answered, but not with the PDF the event describes (404, 401/403,
    another size or digest). Retried a bounded number of times (an object store catching
    up), then the email is failed with this reason for staff to see."""


_local = threading.local()


def _session() -> requests.Session:
    """One HTTP session (keep-alive connections) per thread and process."""
    session = getattr(_local, "session", None)
    if session is None or getattr(_local, "pid", None) != os.getpid():
        session = requests.Session()
        session.mount("http://", HTTPAdapter(max_retries=QUICK_RETRIES))
        session.mount("https://", HTTPAdapter(max_retries=QUICK_RETRIES))
        _local.session, _local.pid = session, os.getpid()
    return session


def fetch(claims: list[Claim], base_url: str, secret_key: str) -> list[tuple[str, bytes]]:
    """``(filename, bytes)`` of each claimed PDF, in the event's order."""
    headers = {"Authorization": f"Bearer {issue_service_token(secret_key, SERVICE_NAME)}"}
    fetched = []
    for claim in claims:
        url = base_url.rstrip("/") + claim.url
        try:
            response = _session().get(url, headers=headers, timeout=TIMEOUT)
        except requests.RequestException as exc:
            raise DocumentsUnavailable(f"{url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise DocumentsUnavailable(f"{url}: HTTP {response.status_code} {response.text[:200]}")
        if response.status_code != 200:
            # 401/403 (a SECRET_KEY that differs) or 404 (an object store lagging behind)
            raise ClaimNotHonoured(f"{claim.filename}: HTTP {response.status_code} {response.text[:200]}")
        data = response.content
        if len(data) != claim.size or hashlib.sha256(data).hexdigest() != claim.sha256:
            raise ClaimNotHonoured(f"{claim.filename}: {len(data)} bytes that do not match the event's size "
                                   f"({claim.size}) or digest")
        fetched.append((claim.filename, data))
    return fetched
