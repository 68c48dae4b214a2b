"""One base URL for every service (docs/http.md#1-one-address): a WSGI dispatcher by path prefix, the
embedded counterpart of deploy/nginx.conf. Paths are passed on unchanged."""
from werkzeug.wrappers import Response

ROUTES = (
    ("/api/auth/", "adhesion"),
    ("/api/adhesion/", "adhesion"),
    ("/api/payment/", "payment"),
    ("/api/documents/", "documents"),
    ("/verify/", "documents"),
    ("/api/notify/", "notify"),
    ("/api/ledger/", "ledger"),
    ("/metrics/", "adhesion"),  # every service answers /metrics for the whole install (docs/metrics.md)
    ("/api/audit/", "audit"),
)
DEFAULT = "web"  # the pages for schools and staff (web/), every other path


class Gateway:
    def __init__(self, apps: dict):
        self.apps = apps

    def app_for(self, path: str):
        for prefix, name in ROUTES:
            if path.startswith(prefix) or path == prefix.rstrip("/"):
                return self.apps[name]
        return self.apps[DEFAULT]

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/api/") and not any(path.startswith(p) for p, _ in ROUTES):
            response = Response('{"error":"not_found","message":"Introuvable.","fields":{}}', 404,
                                content_type="application/json")
            return response(environ, start_response)
        return self.app_for(path)(environ, start_response)


def create_gateway(settings=None) -> Gateway:
    from services.adhesion.app import create_app as adhesion
    from services.audit.app import create_app as audit
    from services.documents.app import create_app as documents
    from services.ledger.app import create_app as ledger
    from services.notify.app import create_app as notify
    from services.payment.app import create_app as payment
    from web.app import create_app as web

    factories = {"adhesion": adhesion, "payment": payment, "documents": documents, "notify": notify, "ledger": ledger,
                 "audit": audit, "web": web}
    return Gateway({name: factory(settings) for name, factory in factories.items()})
