"""rasa_extensions: Parley's changes to Rasa, installed by one start-up module, whatever the
channels. The real Rasa (`python -m rasa_extensions run`, tests/services.start_rasa) with a
credentials.yml that lacks the health channel still refuses to fall back to memory; another Rasa
version and a plain `rasa run` stop at start-up, saying what to do."""
import subprocess
import time
from pathlib import Path

import pytest
import requests

import rasa_extensions
from tests import services

PYTHON = str(services.VENV_DIALOGUE / "bin" / "python")


def test_the_version_check_accepts_the_installed_rasa_3_6():
    assert rasa_extensions.check_rasa_version().startswith("3.6.")


@pytest.mark.parametrize("version", ["3.7.0", "3.5.17", "4.0.0", "3.60.1"])
def test_the_version_check_refuses_another_rasa(monkeypatch, version):
    import rasa.version

    monkeypatch.setattr(rasa.version, "__version__", version)
    monkeypatch.setattr(rasa_extensions, "_installed", False)
    with pytest.raises(SystemExit) as refused:
        rasa_extensions.install()
    assert f"Rasa {version} is installed" in str(refused.value)
    assert "3.6.x" in str(refused.value)
    assert not rasa_extensions.installed()  # nothing replaced


def test_the_entry_point_refuses_another_rasa_before_starting_it():
    pretend = ("import sys, runpy, rasa.version; rasa.version.__version__ = '3.7.1'; "
               "sys.argv = ['rasa_extensions', 'run', '--help']; "
               "runpy.run_module('rasa_extensions', run_name='__main__')")
    result = subprocess.run([PYTHON, "-c", pretend], env=services.base_env(), cwd=services.ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert "Rasa 3.7.1 is installed" in result.stderr
    assert "usage" not in result.stdout + result.stderr  # Rasa's own command line never ran


@pytest.mark.parametrize("channel", ["channels.rest.GuardedRestInput", "channels.health.HealthInput"])
def test_a_channel_built_without_the_extensions_stops_start_up(monkeypatch, channel):
    import importlib

    module, name = channel.rsplit(".", 1)
    channel_class = getattr(importlib.import_module(module), name)
    monkeypatch.setattr(rasa_extensions, "_installed", False)
    with pytest.raises(SystemExit) as refused:
        channel_class.from_credentials({})
    assert "python -m rasa_extensions run" in str(refused.value)


def test_a_plain_rasa_run_stops_at_start_up_and_says_what_to_run(trained_model, tmp_path):
    result = subprocess.run(
        [str(services.VENV_DIALOGUE / "bin" / "rasa"), "run", "--model", trained_model,
         "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
         "--port", str(services.free_port())],
        env=services.base_env(ACTION_ENDPOINT_URL=services.closed_url() + "/webhook",
                              TRACKER_URL=f"sqlite:///{tmp_path / 'tracker.db'}",
                              PARLEY_CHANNEL_SECRET=services.CHANNEL_SECRET),
        cwd=services.ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert "python -m rasa_extensions run" in result.stdout + result.stderr


def without_health_channel(folder: Path) -> str:
    """The shipped credentials.yml, the health channel removed."""
    lines = (services.ROOT / "credentials.yml").read_text().splitlines()
    kept = [line for line in lines if line.strip() != "channels.health.HealthInput:"]
    assert len(kept) == len(lines) - 1, "credentials.yml no longer names channels.health.HealthInput"
    path = folder / "credentials.yml"
    path.write_text("\n".join(kept) + "\n")
    return str(path)


def strict_endpoints(folder: Path, store_type: str, port: int) -> str:
    """A strict PostgreSQL tracker store at `port` (nothing listens there: the database is down),
    the in-memory lock store."""
    path = folder / "endpoints.yml"
    path.write_text("action_endpoint:\n  url: ${ACTION_ENDPOINT_URL}\n"
                    f"tracker_store:\n  type: {store_type}\n  dialect: postgresql\n"
                    f"  url: 127.0.0.1\n  port: {port}\n  db: parley\n  username: parley\n"
                    "lock_store:\n  type: in_memory\n")
    return str(path)


def test_without_the_health_channel_a_database_down_is_a_503_not_memory(trained_model, rasa_token,
                                                                         tmp_path):
    rasa = services.start_rasa(
        "extensions-no-health", trained_model, services.closed_url(), services.closed_url(),
        tmp_path / "unused.db", rasa_token, attachments_dir=tmp_path / "attachments",
        endpoints=strict_endpoints(tmp_path, "stores.strict_sql.StrictSQLTrackerStore",
                                   services.free_port()),
        credentials=without_health_channel(tmp_path))
    try:
        url = rasa.health_url.rstrip("/")
        assert requests.get(f"{url}/webhooks/health/ready", timeout=30).status_code == 404
        for text in ("hello", "where is my order BW-318904"):
            answer = requests.post(f"{url}/webhooks/rest/webhook", headers=services.channel_auth(),
                                   json={"sender": "no-health", "message": text}, timeout=120)
            # Rasa's FailSafeTrackerStore would answer 200 from a tracker in memory
            assert answer.status_code == 503, answer.text
            assert answer.json()["error"]["code"] == "store_unavailable"
        assert "StoreUnavailable" in rasa.log_path.read_text(errors="replace") or \
            "conversation store unavailable" in rasa.log_path.read_text(errors="replace")
    finally:
        rasa.stop()


def test_without_the_health_channel_a_mistyped_store_type_stops_start_up(trained_model, rasa_token,
                                                                        tmp_path):
    rasa = services.start_rasa(
        "extensions-mistyped", trained_model, services.closed_url(), services.closed_url(),
        tmp_path / "unused.db", rasa_token, wait=False,
        endpoints=strict_endpoints(tmp_path, "stores.strict_sql.StrictSQLTrakcerStore",
                                   services.free_port()),
        credentials=without_health_channel(tmp_path))
    try:
        deadline = time.monotonic() + 400
        while rasa.process.poll() is None and time.monotonic() < deadline:
            try:  # Rasa's own loader would warn and serve from memory
                assert not requests.get(rasa.health_url, timeout=2).ok, "Rasa started on memory"
            except requests.RequestException:
                pass
            time.sleep(1)
        assert rasa.process.poll() not in (None, 0), rasa.tail()
        log = rasa.log_path.read_text(errors="replace")
        assert "'stores.strict_sql.StrictSQLTrakcerStore' not found" in log
        assert "InMemoryTrackerStore" not in log
    finally:
        rasa.stop()


def test_only_rasa_extensions_assigns_to_rasa_attributes():
    """Monkey patches live in one module: no other file of Parley's assigns to (or setattr()s)
    an attribute of something imported from rasa."""
    import ast

    found = []
    for path in sorted(services.ROOT.glob("*/**/*.py")):
        relative = path.relative_to(services.ROOT)
        if relative.parts[0] in (".venv", "tests", "rasa_extensions", "node_modules", "var"):
            continue
        tree = ast.parse(path.read_text(), str(path))
        from_rasa = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                from_rasa |= {(a.asname or a.name).split(".")[0] for a in node.names
                              if a.name.split(".")[0] == "rasa"}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "rasa":
                from_rasa |= {a.asname or a.name for a in node.names}

        def rooted_in_rasa(target) -> bool:
            if not isinstance(target, ast.Attribute):
                return False
            while isinstance(target, ast.Attribute):
                target = target.value
            return isinstance(target, ast.Name) and target.id in from_rasa

        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
                targets = [node.target]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                  and node.func.id == "setattr" and node.args):
                targets = [ast.Attribute(value=node.args[0], attr="?")]
            found += [f"{relative}:{node.lineno}" for target in targets if rooted_in_rasa(target)]
    assert found == []
