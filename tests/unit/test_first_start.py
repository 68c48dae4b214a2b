"""Issue 25, item 12: the first `make run` on a fresh machine. It installs what the system
runs on only (the `test` extra is `make test`'s), its mail sink never collides with another
run's, its start prints no race nor warning (the README's layout: tests/unit/test_docs.py)."""
import re
import socket
import sqlite3

import pytest

from deploy import run
from deploy.setup import broker_tables
from tests.support import ROOT


def recipe(target: str) -> str:
    """A Makefile target's line and the recipe lines under it."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:.*\n(?:\t.*\n)*", text, re.M)
    assert match, target
    return match.group(0)


def variable(name: str) -> str:
    return re.search(rf"^{name} :?= (.*)$", (ROOT / "Makefile").read_text(), re.M).group(1)


def test_make_run_does_not_install_the_test_tools():
    run_target = recipe("run")
    stamp = variable("STAMP")
    assert "$(STAMP)" in run_target and "$(TEST_STAMP)" not in run_target
    install = recipe("$(STAMP)")
    assert "-e ." in install and "[test]" not in install and "--upgrade pip" not in install
    assert "'.[test]'" in recipe("$(TEST_STAMP)")
    for target in ("test", "unit"):
        assert "$(TEST_STAMP)" in recipe(target), target
    assert stamp != variable("TEST_STAMP")
    assert "--root-user-action=ignore" in variable("PIP")  # no « Running pip as the 'root' user »


@pytest.fixture
def taken():
    """A port another program listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def test_the_sink_takes_a_free_port_when_its_default_is_taken(taken, monkeypatch):
    monkeypatch.setattr(run, "DEFAULT_SINK_PORT", taken)
    port = run.sink_port({})
    assert port != taken and port > 0
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", port))  # free indeed


def test_a_taken_sink_port_asked_for_is_said_clearly(taken):
    with pytest.raises(run.SinkPortTaken, match=f"SMTP_SINK_PORT={taken} est déjà pris"):
        run.sink_port({"SMTP_SINK_PORT": str(taken)})


def test_the_sink_port_is_documented():
    settings = (ROOT / "docs" / "settings.md").read_text()
    assert "`SMTP_SINK_PORT`" in settings and "free port" in settings


def test_the_brokers_tables_are_made_once_before_the_processes_start(tmp_path):
    broker = tmp_path / "broker.db"
    broker_tables(f"sqla+sqlite:///{broker}")
    tables = {name for (name,) in sqlite3.connect(broker).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"kombu_queue", "kombu_message"} <= tables
    broker_tables(f"sqla+sqlite:///{broker}")  # again: nothing to do, nothing raised
    broker_tables("redis://127.0.0.1:1/0")  # another broker: not touched (no connection tried)
