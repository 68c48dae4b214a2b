# `make run` and `make test` set up what they need (a virtualenv in .venv) and go.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
# Two stamps: `make run` installs what the system runs on only (a fresh machine serves in
# under a minute); `make test` adds the `test` extra (pytest, playwright, schemathesis…).
STAMP := $(VENV)/.installed-run
TEST_STAMP := $(VENV)/.installed-test
# pip says nothing of running as root (a container, a CI box): the venv is ours
PIP := $(PY) -m pip install -q --disable-pip-version-check --root-user-action=ignore
# The browser tests drive Debian's Chromium (never `playwright install`: no browser download).
CHROMIUM := /usr/bin/chromium
# The PDFs embed DejaVu Sans (names beyond Latin-1); the tests look at them with pdftoppm.
DEJAVU := /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf
PDFTOPPM := /usr/bin/pdftoppm
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: run backup restore test unit bench bench-reconcile clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(PIP) -e .
	@touch $(STAMP)

$(TEST_STAMP): $(STAMP) pyproject.toml
	$(PIP) -e '.[test]'
	@touch $(TEST_STAMP)

run: $(STAMP) $(DEJAVU)
	$(PY) -m deploy.run

# One archive of the stores, the documents and a manifest, taken while `make run` serves;
# its path is the last line printed (docs/operations.md).
backup: $(STAMP)
	@$(PY) -m deploy.backup

# Into an empty data folder (DATA_DIR) or empty database (DATABASE_URL) only.
restore: $(STAMP)
	@$(PY) -m deploy.restore "$(ARCHIVE)"

$(CHROMIUM):
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q chromium

# Each test session runs its own redis-server on a free port (deploy/redis_server.py).
REDIS_SERVER := /usr/bin/redis-server

$(REDIS_SERVER):
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q redis-server

$(DEJAVU):
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q fonts-dejavu-core

$(PDFTOPPM):
	$(SUDO) apt-get update -q
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q poppler-utils

# Four pytest workers, one test file each at a time: the e2e files wait on real processes
# more than they compute, so four keep both cores busy (measured idle: 3 workers 4 min 56 s,
# 4 workers 4 min 24 s–4 min 50 s). Each worker is its own session with its own redis-server and databases.
TEST_WORKERS ?= 4

test: $(TEST_STAMP) $(CHROMIUM) $(REDIS_SERVER) $(DEJAVU) $(PDFTOPPM)
	$(PY) -m ruff check .
	$(PY) -m deploy.services_up
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile

unit: $(TEST_STAMP)
	$(PY) -m pytest -q tests/unit

bench: $(TEST_STAMP)
	$(PY) bench/pipeline.py

bench-reconcile: $(TEST_STAMP)
	$(PY) -m deploy.services_up
	$(PY) bench/reconcile.py

clean:
	rm -rf var test-artifacts
