"""The production shape's files (docker-compose.yml, deploy/): no Docker engine here, so
they are checked by parsing. Module paths are checked on disk, never imported."""
import re
import shlex
from pathlib import Path

import pytest
import yaml

from shared.events import service_names

ROOT = Path(__file__).resolve().parents[2]
SERVICES = tuple(service_names())
# a lane of a service: its own worker process on its own queue (bulk mail beside transactional)
LANES = {"worker-notify-bulk": ("notify", "notify_bulk")}
WORKERS = tuple(f"worker-{service}" for service in SERVICES) + tuple(LANES)
APP_ENV = (
    "DATABASE_URL", "BROKER_URL", "SMTP_HOST", "SMTP_PORT", "MAIL_FROM", "SECRET_KEY",
    "ADMIN_LOGIN", "ADMIN_PASSWORD", "PUBLIC_BASE_URL", "DATA_DIR",
)
GATEWAY_ROUTES = {
    "/api/auth/": "adhesion:8000",
    "/api/adhesion/": "adhesion:8000",
    "/api/payment/": "payment:8000",
    "/api/documents/": "documents:8000",
    "/verify/": "documents:8000",
    "/api/notify/": "notify:8000",
    "/api/ledger/": "ledger:8000",
    "/api/audit/": "audit:8000",
    "/": "web:8000",  # the pages (web/)
}


@pytest.fixture(scope="module")
def compose():
    # safe_load resolves the `<<: *app` merge keys, as Compose does.
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def services(compose):
    return compose["services"]


def command_words(service: dict) -> list[str]:
    command = service["command"]
    return shlex.split(command) if isinstance(command, str) else [str(word) for word in command]


def option(words: list[str], name: str) -> str:
    return words[words.index(name) + 1]


def environment(service: dict) -> dict:
    env = service["environment"]
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def test_setup_step_runs_once_before_every_app_and_worker(services):
    assert command_words(services["setup"])[-2:] == ["-m", "deploy.setup"]
    assert services["setup"]["restart"] == "no"
    for name in SERVICES + WORKERS:
        assert services[name]["depends_on"]["setup"] == {"condition": "service_completed_successfully"}


def test_every_service_of_the_production_shape_is_there(services):
    expected = {"postgres", "redis", "mailpit", "gateway", *SERVICES, *WORKERS}
    assert expected <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    assert services["redis"]["image"].startswith("redis:7")
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    assert services["gateway"]["image"].startswith("nginx:1.27")
    assert "healthcheck" in services["postgres"]


@pytest.mark.parametrize("name", SERVICES + WORKERS)
def test_each_app_and_worker_gets_the_run_configuration(services, name):
    service = services[name]
    env = environment(service)
    assert set(APP_ENV) <= set(env)
    assert env["DATABASE_URL"] == "postgresql://retkoop:retkoop@postgres:5432/retkoop"
    assert env["BROKER_URL"] == "redis://redis:6379/0"
    assert "mailpit" in env["SMTP_HOST"] and "1025" in str(env["SMTP_PORT"])
    assert env["DATA_DIR"] == "/data"
    assert env["SECRET_KEY"].startswith("${SECRET_KEY:?")  # refuses to start without it
    assert env["ADMIN_PASSWORD"].startswith("${ADMIN_PASSWORD:?")
    assert env["PUBLIC_BASE_URL"].startswith("${PUBLIC_BASE_URL:-")
    assert env["INTERNAL_API_URL"] == "http://gateway"  # notify fetches the PDFs through it
    assert "deploy/Dockerfile" in str(service["build"])
    assert any(str(volume).split(":")[1:2] == ["/data"] for volume in service["volumes"])
    assert service["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_apps_and_workers_share_one_documents_volume(services):
    sources = {str(volume).split(":")[0] for name in SERVICES + WORKERS
               for volume in services[name]["volumes"] if str(volume).split(":")[1:2] == ["/data"]}
    assert len(sources) == 1


@pytest.mark.parametrize("name", SERVICES)
def test_web_service_runs_its_app_under_gunicorn(services, name):
    words = command_words(services[name])
    assert words[0] == "gunicorn"
    assert option(words, "-b") == "0.0.0.0:8000"
    assert f"services.{name}.app:create_app()" in words
    health = " ".join(map(str, services[name]["healthcheck"]["test"]))
    assert f"/api/{name}/health" in health


def test_web_pages_run_under_gunicorn_and_call_the_apis_through_the_gateway(services):
    web = services["web"]
    words = command_words(web)
    assert words[0] == "gunicorn" and option(words, "-b") == "0.0.0.0:8000"
    assert "web.app:create_app()" in words and (ROOT / "web" / "app.py").is_file()
    assert environment(web)["API_BASE_URL"] == "http://gateway"
    assert "/health" in " ".join(map(str, web["healthcheck"]["test"]))
    assert services["gateway"]["depends_on"]["web"]["condition"] == "service_healthy"


@pytest.mark.parametrize("name", SERVICES)
def test_worker_consumes_its_own_queue(services, name):
    words = command_words(services[f"worker-{name}"])
    assert words[:1] == ["celery"] and "worker" in words
    assert option(words, "-A") == f"services.{name}.worker"
    assert option(words, "-Q") == name
    if name == "documents":
        assert "--max-tasks-per-child" in words


@pytest.mark.parametrize("name", LANES)
def test_each_lane_has_its_own_worker(services, name):
    service, queue = LANES[name]
    words = command_words(services[name])
    assert option(words, "-A") == f"services.{service}.worker" and option(words, "-Q") == queue


def test_gateway_publishes_port_and_mounts_its_config(services):
    gateway = services["gateway"]
    assert "${PORT:-8000}:80" in [str(port) for port in gateway["ports"]]
    assert any(str(volume).startswith("./deploy/nginx.conf:") for volume in gateway["volumes"])


def nginx_locations(text: str) -> dict[str, str]:
    """prefix location -> the host:port it proxies to (through `set $var` or directly)."""
    text = re.sub(r"#[^\n]*", "", text)
    routes = {}
    for prefix, body in re.findall(r"location\s+(/\S*)\s*\{([^{}]*)\}", text):
        target = re.search(r"proxy_pass\s+http://([^;/\s]+)", body)
        if not target:
            continue
        target = target.group(1)
        if target.startswith("$"):
            target = re.search(rf"set\s+\{target}\s+([^;\s]+)\s*;", body).group(1)
        routes[prefix] = target
    return routes


def test_gateway_routes_each_prefix_to_its_service():
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    routes = nginx_locations(text)
    for prefix, upstream in GATEWAY_ROUTES.items():
        assert routes.get(prefix) == upstream, prefix
    assert {target.split(":")[0] for target in routes.values()} <= {*SERVICES, "web"}
    assert re.search(r"client_max_body_size\s+256k\s*;", text)
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"):
        assert re.search(rf"proxy_set_header\s+{header}\s", text), header


def test_dockerfile_installs_the_project_from_pyproject():
    text = (ROOT / "deploy" / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\b", text, re.M)
    assert re.search(r"^COPY pyproject\.toml ", text, re.M)
    assert re.search(r"^RUN pip install \.(\s|$)", text, re.M)
    assert "PYTHONPATH=/app" in text and "DATA_DIR=/data" in text
    user = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert user and user[-1] not in {"root", "0"}
    for source in re.findall(r"^COPY\s+(\S+)\s+\S+", text, re.M):
        assert (ROOT / source).exists(), source


def test_procfile_lists_the_embedded_processes():
    processes = {}
    for line in (ROOT / "deploy" / "Procfile").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, command = line.split(":", 1)
            processes[name] = shlex.split(command)
    assert set(processes) == {"web", *WORKERS, "mail-sink"}
    for name in SERVICES:
        words = processes[f"worker-{name}"]
        assert option(words, "-A") == f"services.{name}.worker"
        assert option(words, "-Q") == name
    for name, (service, queue) in LANES.items():
        assert option(processes[name], "-A") == f"services.{service}.worker"
        assert option(processes[name], "-Q") == queue
    assert processes["mail-sink"][-1] == "deploy.smtp_sink"


def referenced_modules(services) -> set[str]:
    modules = set()
    for service in services.values():
        if "command" not in service:
            continue
        for word in command_words(service):
            match = re.fullmatch(r"(services\.\w+\.app):create_app\(\)|(services\.\w+\.worker)", word)
            if match:
                modules.add(match.group(1) or match.group(2))
    for line in (ROOT / "deploy" / "Procfile").read_text().splitlines():
        modules.update(re.findall(r"\bservices\.\w+\.worker\b", line))
    return modules


def test_every_referenced_module_exists_on_disk(services):
    modules = referenced_modules(services)
    assert len(modules) == 2 * len(SERVICES)
    missing = sorted(m for m in modules if not (ROOT / (m.replace(".", "/") + ".py")).is_file())
    assert not missing, f"referenced but not on disk: {missing}"


def test_every_container_comes_back_after_a_crash(services):
    """A worker lost in a broker restart, or any process that dies, is restarted by Docker;
    only the one-shot start-up step (others wait for it to complete) runs once."""
    one_shots = {dependency for service in services.values() for dependency, condition in
                 (service.get("depends_on") or {}).items() if condition.get("condition") == "service_completed_successfully"}
    assert one_shots <= {"setup"}
    for name, service in services.items():
        if name not in one_shots and not service.get("profiles"):  # on-demand tools run once when asked
            assert service.get("restart") in {"always", "unless-stopped", "on-failure"}, name


def test_backups_run_on_demand_with_the_run_configuration(services):
    """`docker compose run --rm backup` (docs/operations.md): the apps' settings, the
    documents volume, archives on a volume of their own, never started by `up`."""
    backup = services["backup"]
    assert command_words(backup)[-2:] == ["-m", "deploy.backup"]
    assert backup["profiles"] and backup["restart"] == "no"
    env = environment(backup)
    assert set(APP_ENV) <= set(env) and env["BACKUP_DIR"] == "/backups"
    mounts = {str(volume).split(":")[1]: str(volume).split(":")[0] for volume in backup["volumes"]}
    assert mounts["/data"] == "data" and mounts["/backups"] == "backups"
    assert "setup" not in backup["depends_on"]  # a restore goes into an empty database: before setup
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    server = services["postgres"]["image"].split(":")[1].split(".")[0]
    assert f"postgresql-client-{server}" in dockerfile  # pg_dump refuses a server newer than itself


def test_the_broker_keeps_its_queues_across_a_restart(services):
    words = command_words(services["redis"])
    assert option(words, "--appendonly") == "yes"
    assert any(str(volume).endswith(":/data") for volume in services["redis"]["volumes"])


def test_the_embedded_run_starts_a_worker_per_lane():
    """deploy/run.py reads the lanes from the services' subscriptions (imports, no I/O)."""
    from types import SimpleNamespace

    from deploy.run import commands
    from shared.events import queues_of

    assert queues_of("notify") == ("notify", "notify_bulk")
    assert queues_of("documents") == ("documents",)
    procs = commands(SimpleNamespace(port=8123, data_dir=ROOT / "var"))  # nothing read from disk
    assert option(procs["worker-notify"], "-Q") == "notify"
    assert option(procs["worker-notify-bulk"], "-Q") == "notify_bulk"
    assert option(procs["worker-notify-bulk"], "-A") == "services.notify.worker"
