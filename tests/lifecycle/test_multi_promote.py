"""Promotion to several Rasa instances (lifecycle/fleet.py): every instance loads the model or none
keeps it.

The fan-out rules are checked against small real HTTP servers (aiohttp) that speak the part of
Rasa's API the lifecycle uses (GET /status, PUT /model, token), so each failure can be made to
happen; then `python -m lifecycle rollback` moves two real Rasa instances together, and is
refused, with nothing loaded, while one of them is down."""
import asyncio
import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Optional

import pytest
from aiohttp import web

from lifecycle.cli import main
from lifecycle.fleet import Fleet, PromotionError, urls_from
from lifecycle.registry import sha256_file
from lifecycle.serving import RasaServer, RasaUnreachable, ServingError
from tests import services

TOKEN = "fleet-token"


class FakeRasa:
    """GET /status and PUT /model like `rasa run --enable-api --auth-token`; `refuse_loads` makes
    PUT /model answer 400 (a model Rasa cannot load), as many times as it says."""

    def __init__(self, serving: str) -> None:
        self.serving = serving
        self.refuse_loads = 0
        self.loads = []
        self.port = services.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._runner: Optional[web.AppRunner] = None
        app = web.Application()
        app.router.add_get("/status", self.status)
        app.router.add_put("/model", self.model)
        ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(app, ready), daemon=True)
        self._thread.start()
        assert ready.wait(10)

    def _serve(self, app, ready) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        ready.set()
        self._loop.run_forever()

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def status(self, request):
        if request.query.get("token") != TOKEN:
            return web.json_response({"status": "failure"}, status=401)
        return web.json_response({"model_file": self.serving, "model_id": self.serving[:8]})

    async def model(self, request):
        if request.query.get("token") != TOKEN:
            return web.json_response({"status": "failure"}, status=401)
        path = Path((await request.json())["model_file"])
        self.loads.append(path.name)
        if self.refuse_loads or not path.is_file():
            self.refuse_loads = max(0, self.refuse_loads - 1)
            return web.json_response({"message": "An unexpected error occurred"}, status=400)
        self.serving = path.name
        return web.Response(status=204)


@pytest.fixture
def archives(tmp_path):
    folder = tmp_path / "models"
    folder.mkdir()
    for name in ("old", "new"):
        (folder / f"{name}.tar.gz").write_bytes(f"{name} model".encode())
    return folder


@pytest.fixture
def pair():
    instances = [FakeRasa("old.tar.gz"), FakeRasa("old.tar.gz")]
    yield instances
    for instance in instances:
        instance.stop()


def fleet(*urls, token=TOKEN) -> Fleet:
    return Fleet([RasaServer(url, token) for url in urls])


def finder(folder: Path):
    return lambda name: folder / name if (folder / name).is_file() else None


def test_every_instance_loads_the_model(pair, archives):
    statuses = fleet(*(i.url for i in pair)).load(archives / "new.tar.gz", finder(archives))
    assert [s["model_file"] for s in statuses] == ["new.tar.gz", "new.tar.gz"]
    assert [i.serving for i in pair] == ["new.tar.gz", "new.tar.gz"]


def test_a_failed_load_puts_the_loaded_instances_back_and_names_the_failed_one(pair, archives):
    pair[1].refuse_loads = 1
    with pytest.raises(PromotionError) as failure:
        fleet(*(i.url for i in pair)).load(archives / "new.tar.gz", finder(archives))
    assert failure.value.consistent
    assert pair[1].url in str(failure.value) and "HTTP 400" in str(failure.value)
    assert "every instance serves its previous model again" in str(failure.value)
    assert [i.serving for i in pair] == ["old.tar.gz", "old.tar.gz"]
    assert pair[0].loads == ["new.tar.gz", "old.tar.gz"]  # loaded, then put back


def test_an_instance_that_cannot_be_put_back_is_named(pair, archives):
    pair[1].refuse_loads = 1
    (archives / "old.tar.gz").unlink()  # what the first one served is gone
    with pytest.raises(PromotionError) as failure:
        fleet(*(i.url for i in pair)).load(archives / "new.tar.gz", finder(archives))
    assert not failure.value.consistent
    assert f"could not put back {pair[0].url}" in str(failure.value)
    assert pair[0].serving == "new.tar.gz" and pair[1].serving == "old.tar.gz"


def test_one_instance_down_refuses_before_loading_anything(pair, archives):
    down = services.closed_url()
    with pytest.raises(PromotionError) as failure:
        fleet(pair[0].url, down, pair[1].url).load(archives / "new.tar.gz", finder(archives))
    assert failure.value.consistent and f"Rasa at {down} does not answer" in str(failure.value)
    assert "nothing was loaded" in str(failure.value)
    assert [i.loads for i in pair] == [[], []]


def test_every_instance_down_is_no_server_running(archives):
    with pytest.raises(RasaUnreachable):
        fleet(services.closed_url(), services.closed_url()).load(archives / "new.tar.gz", finder(archives))


def test_a_refused_token_stops_before_loading_anything(pair, archives):
    with pytest.raises(ServingError, match="refused the token"):
        fleet(*(i.url for i in pair), token="wrong").load(archives / "new.tar.gz", finder(archives))
    assert [i.loads for i in pair] == [[], []]


def test_no_instance_at_all_is_refused():
    with pytest.raises(ValueError):
        Fleet([])


def test_which_urls(tmp_path):
    (tmp_path / "var").mkdir()
    env = {"RASA_PORT": "5099"}
    assert urls_from(None, tmp_path, env) == ["http://127.0.0.1:5099"]
    (tmp_path / "var" / "rasa_urls").write_text("http://127.0.0.1:5005\nhttp://127.0.0.1:5015\n\n")
    assert urls_from(None, tmp_path, env) == ["http://127.0.0.1:5005", "http://127.0.0.1:5015"]
    env["RASA_URL"] = "http://127.0.0.1:6000/"
    assert urls_from(None, tmp_path, env) == ["http://127.0.0.1:6000"]
    env["RASA_URLS"] = "http://a:1, http://b:2 http://a:1"
    assert urls_from(None, tmp_path, env) == ["http://a:1", "http://b:2"]
    assert urls_from(["http://c:3"], tmp_path, env) == ["http://c:3"]
    with pytest.raises(ValueError, match="not a Rasa server URL"):
        urls_from(["127.0.0.1:5005"], tmp_path, env)


# ---------------------------------------------------------------- the command, two instances


def registry_of(home: Path, names, current: str) -> None:
    models = []
    for number, name in enumerate(names):
        models.append({"id": name, "file": f"{name}.tar.gz", "sha256": sha256_file(home / f"{name}.tar.gz"),
                       "data_version": "d", "metrics": {}, "trained_at": "t",
                       "promoted_at": f"2026-01-0{number + 1}T00:00:00Z",
                       "status": "current" if name == current else "previous"})
    (home / "registry.json").write_text(json.dumps({"current": current, "heldout": None, "models": models}))


def test_rollback_moves_both_instances_or_neither(pair, archives, monkeypatch, capsys):
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    for instance in pair:
        instance.serving = "new.tar.gz"
    registry_of(archives, ["old", "new"], current="new")
    args = ["--models", str(archives), "rollback", "--rasa-url", pair[0].url, "--rasa-url", pair[1].url]
    pair[1].refuse_loads = 1
    assert main(args) == 2
    assert pair[1].url in capsys.readouterr().err
    assert [i.serving for i in pair] == ["new.tar.gz", "new.tar.gz"]
    assert json.loads((archives / "registry.json").read_text())["current"] == "new"
    assert main(args) == 0
    out = capsys.readouterr().out
    assert all(f"Rasa at {i.url} now serves old.tar.gz" in out for i in pair)
    assert [i.serving for i in pair] == ["old.tar.gz", "old.tar.gz"]
    assert json.loads((archives / "registry.json").read_text())["current"] == "old"


@pytest.fixture(scope="module")
def two_rasa(tmp_path_factory, rasa_token):
    """Three copies of one small trained model (tests/lifecycle/config.yml) under three names,
    promoted in order (m0, m1, m2; m2 current), and two real Rasa instances serving m2."""
    folder = tmp_path_factory.mktemp("multi-promote")
    home = folder / "models"
    home.mkdir()
    services.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with open(services.ARTIFACTS / "multi-promote-train.log", "wb") as log:
        trained = subprocess.run(
            [str(services.VENV_DIALOGUE / "bin" / "rasa"), "train", "--config", "tests/lifecycle/config.yml",
             "--domain", "domain.yml", "--data", "data", "--out", str(folder), "--fixed-model-name", "small"],
            cwd=services.ROOT, env=services.base_env(), stdout=log, stderr=subprocess.STDOUT, timeout=1800)
    assert trained.returncode == 0, (services.ARTIFACTS / "multi-promote-train.log").read_text()[-3000:]
    for name in ("m0", "m1", "m2"):
        shutil.copy(folder / "small.tar.gz", home / f"{name}.tar.gz")
    registry_of(home, ["m0", "m1", "m2"], current="m2")
    db = services.seed_db(folder / "company.db")
    perception = services.closed_url()  # the small config needs no perception service
    actions = services.start_actions("multi-promote-actions", db, perception, wait=False)
    started = []
    try:
        for number in (1, 2):  # both instances and the action server start at once
            started.append(services.start_rasa(
                f"multi-promote-rasa-{number}", str(home / "m2.tar.gz"), actions.health_url.rsplit("/health", 1)[0],
                perception, folder / f"tracker-{number}.db", rasa_token, wait=False))
        services.start_together(actions, *started)
        yield home, started, rasa_token
    finally:
        for service in started:
            service.stop()
        actions.stop()


def served(service, token) -> str:
    return RasaServer(service.health_url.rstrip("/"), token).served_file()


def lifecycle(home: Path, token: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lifecycle", "--models", str(home), *args],
                          cwd=services.ROOT, env=services.base_env(RASA_TOKEN=token),
                          capture_output=True, text=True, timeout=1800)


def test_two_real_instances_roll_back_together_and_not_while_one_is_down(two_rasa):
    home, instances, token = two_rasa
    urls = [arg for s in instances for arg in ("--rasa-url", s.health_url.rstrip("/"))]
    assert [served(s, token) for s in instances] == ["m2.tar.gz", "m2.tar.gz"]
    back = lifecycle(home, token, "rollback", *urls)
    assert back.returncode == 0, back.stdout + back.stderr
    assert [served(s, token) for s in instances] == ["m1.tar.gz", "m1.tar.gz"]
    assert json.loads((home / "registry.json").read_text())["current"] == "m1"

    instances[1].stop()
    refused = lifecycle(home, token, "rollback", *urls)
    assert refused.returncode == 2
    assert f"Rasa at {instances[1].health_url.rstrip('/')} does not answer" in refused.stderr
    assert served(instances[0], token) == "m1.tar.gz"  # nothing was loaded
    assert json.loads((home / "registry.json").read_text())["current"] == "m1"
