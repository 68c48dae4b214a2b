"""Flask app factory of the web pages: ``web.app:create_app(settings=None)``."""
import os
from datetime import timedelta

from flask import Flask, flash, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from shared import metrics
from shared.config import Settings, load
from shared.service import RowId
from web import carry, formatting
from web.client import ApiFailure
from web.security import check_csrf, csrf_token, security_headers

ERROR_TITLES = {
    400: "Demande invalide",
    403: "Accès refusé",
    404: "Page introuvable",
    405: "Action impossible",
    413: "Envoi trop volumineux",
    429: "Trop de tentatives",
    500: "Erreur inattendue",
    502: "Service indisponible",
    503: "Service indisponible",
}
ERROR_TEXTS = {
    400: "La demande n'a pas pu être comprise.",
    403: "Cette page ne vous est pas accessible.",
    404: "Cette page n'existe pas ou plus.",
    405: "Cette action n'est pas possible depuis cette page.",
    413: "Le contenu envoyé est trop volumineux.",
    500: "Une erreur inattendue s'est produite. Réessayez ; si elle persiste, contactez l'OCCE.",
}
CSRF_TEXT = ("Le formulaire a expiré ou n'a pas été envoyé depuis cette page. "
             "Rechargez la page puis recommencez.")


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load()
    app = Flask(__name__)
    app.url_map.converters["int"] = RowId
    app.config.update(
        SECRET_KEY=settings.secret_key,
        API_BASE_URL=(os.environ.get("API_BASE_URL") or settings.public_base_url).rstrip("/"),
        SESSION_COOKIE_NAME="retkoop_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_base_url.startswith("https"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),  # the API token's own lifetime
        MAX_CONTENT_LENGTH=256 * 1024,
        TEMPLATES_AUTO_RELOAD=False,
        IMPORT_DIR=str(settings.data_dir / "imports"),  # a CSV file between its preview and its import
    )
    if settings.trusted_proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxies, x_proto=1, x_host=1)
    formatting.register(app)
    metrics.install(app, "web", route=False)  # the pages' requests; /metrics itself is served by the services
    app.jinja_env.globals.update(csrf_token=csrf_token, campaign_year=formatting.campaign_year)
    from web import yearend
    from web.staff import sepa, slips, statements

    app.before_request(statements.allow_statement_upload)  # before the CSRF check reads the form
    app.before_request(allow_import_upload)  # before the CSRF check reads the form
    app.before_request(yearend.allow_upload)  # before the CSRF check reads the form
    app.before_request(check_csrf)
    app.after_request(security_headers)

    from web.auth import bp as auth_bp
    from web.ledger import bp as ledger_bp
    from web.passwords import bp as passwords_bp
    from web.privacy import bp as privacy_bp
    from web.school import bp as school_bp
    from web.staff import bp as staff_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(passwords_bp)
    app.register_blueprint(privacy_bp)
    app.register_blueprint(school_bp)
    app.register_blueprint(staff_bp)
    app.register_blueprint(ledger_bp)
    app.register_blueprint(statements.bp)
    app.register_blueprint(slips.bp)
    app.register_blueprint(sepa.bp)
    app.register_blueprint(yearend.bp)

    @app.get("/health")
    def health():
        return {"status": "ok"}

    @app.errorhandler(ApiFailure)
    def api_failure(error: ApiFailure):
        if error.status == 401:  # the token expired or was refused: sign in again
            if carry.carries(request.path):
                return carry.keep_and_sign_in()
            session.clear()
            flash("Votre session a expiré : identifiez-vous à nouveau.", "info")
            return redirect(url_for("auth.login"))
        if error.status >= 500:  # a service failed: say so in French, never as our own 500
            status = 503 if error.status == 503 else 502
            return error_page(status, error.message if status == 503 else ERROR_TEXTS[500])
        status = error.status if error.status in ERROR_TITLES else 400
        return error_page(status, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code == 400 and error.description == "csrf":
            return error_page(400, CSRF_TEXT, title="Formulaire refusé")
        return error_page(error.code or 500, ERROR_TEXTS.get(error.code, ""))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unexpected error")
        return error_page(500, ERROR_TEXTS[500])

    return app


IMPORT_UPLOAD_LIMIT = 2 * 1024 * 1024 + 64 * 1024


def allow_import_upload() -> None:
    """The staff's CSV import takes files up to 2 MB; every other form stays at 256 KB."""
    if request.endpoint == "staff.import_cooperatives" and request.method == "POST":
        request.max_content_length = IMPORT_UPLOAD_LIMIT


def error_page(status: int, message: str, title: str | None = None):
    title = title or ERROR_TITLES.get(status, "Erreur")
    return render_template("error.html", title=title, message=message, status=status), status
