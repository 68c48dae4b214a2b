"""Run configuration from the environment (docs/settings.md): one place, read once per process."""
import os
import secrets
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    port: int
    data_dir: Path
    database_url: str | None
    broker_url: str
    smtp_host: str
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None
    smtp_starttls: bool
    mail_from: str
    admin_login: str
    admin_password: str | None
    public_base_url: str
    secret_key: str
    outbox_sweep_seconds: float
    broker_visibility_timeout: int
    trusted_proxies: int
    # Where a service reaches another's API (the gateway, or every service behind one port).
    internal_api_url: str = ""
    # Renewal reminders (bulk mail) handed to SMTP per second by a bulk mail worker, per department.
    bulk_mail_rate: float = 5.0
    # Messages one SMTP connection carries before it is closed and opened again.
    smtp_messages_per_connection: int = 100
    # The bearer token /metrics asks for; unset: served only to this machine, not through a proxy.
    metrics_token: str | None = None
    # Days between a direct debit's pre-notification and its collection (docs/sepa.md).
    sepa_notice_days: int = 14
    # How long the documents of a validation are retried when their store cannot be written
    # or their rendering raises, before the issue is failed for staff (services/documents/domain.py).
    documents_give_up_seconds: float = 1800.0

    def database_url_for(self, service: str) -> str:
        """Each service its own store: a SQLite file, or its own schema in PostgreSQL."""
        specific = os.environ.get(f"{service.upper()}_DATABASE_URL")
        if specific:
            return specific
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / f'{service}.db'}"


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def protect(data_dir: Path) -> None:
    """DATA_DIR holds the signing key, every database, the broker, the PDFs and every email
    sent: 0700, and whatever this process creates there 0600 (umask). Files left readable
    by an older run are tightened once, when the folder itself is found open."""
    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True)
    if data_dir.stat().st_mode & 0o077:
        for folder, dirs, files in os.walk(data_dir):
            for name in dirs:
                os.chmod(os.path.join(folder, name), 0o700)
            for name in files:
                path = os.path.join(folder, name)
                if not os.path.islink(path):
                    os.chmod(path, 0o600)
        os.chmod(data_dir, 0o700)


def persistent_secret(data_dir: Path, name: str) -> str:
    """A random secret made once and kept in DATA_DIR, so every process of the run shares it."""
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(secrets.token_urlsafe(32))
        try:
            os.link(tmp, path)  # first writer wins; others read its value
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip()


def load() -> Settings:
    env = os.environ
    data_dir = Path(env.get("DATA_DIR", "./var")).resolve()
    protect(data_dir)
    port = int(env.get("PORT", "8000"))
    smtp_host = env.get("SMTP_HOST") or "127.0.0.1"
    smtp_port = int(env.get("SMTP_PORT") or (env.get("SMTP_SINK_PORT") or 8025))
    return Settings(
        port=port,
        data_dir=data_dir,
        database_url=env.get("DATABASE_URL") or None,
        broker_url=env.get("BROKER_URL") or f"sqla+sqlite:///{data_dir / 'broker.db'}",
        smtp_host=smtp_host,
        smtp_port=smtp_port,
        smtp_user=env.get("SMTP_USER") or None,
        smtp_password=env.get("SMTP_PASSWORD") or None,
        smtp_starttls=_flag(env.get("SMTP_STARTTLS")),
        mail_from=env.get("MAIL_FROM") or "Retkoop OCCE <retkoop@occe.local>",
        admin_login=env.get("ADMIN_LOGIN") or "admin",
        admin_password=env.get("ADMIN_PASSWORD") or None,
        public_base_url=(env.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
        secret_key=env.get("SECRET_KEY") or persistent_secret(data_dir, "secret_key"),
        outbox_sweep_seconds=float(env.get("OUTBOX_SWEEP_SECONDS", "5")),
        broker_visibility_timeout=int(env.get("BROKER_VISIBILITY_TIMEOUT", "45")),
        trusted_proxies=int(env.get("TRUSTED_PROXIES", "0")),
        internal_api_url=(env.get("INTERNAL_API_URL") or f"http://127.0.0.1:{port}").rstrip("/"),
        bulk_mail_rate=float(env.get("BULK_MAIL_RATE", "5")),
        smtp_messages_per_connection=int(env.get("SMTP_MESSAGES_PER_CONNECTION", "100")),
        metrics_token=env.get("METRICS_TOKEN") or None,
        sepa_notice_days=int(env.get("SEPA_NOTICE_DAYS", "14")),
        documents_give_up_seconds=float(env.get("DOCUMENTS_GIVE_UP_SECONDS", "1800")),
    )
