"""Retrain, gate, promote, roll back, end to end: real trainings (the small tests/lifecycle/config.yml,
three of them), Rasa's own evaluation, a real Rasa server loading models through its HTTP API."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from lifecycle.registry import sha256_file
from tests import services

CONFIG = "tests/lifecycle/config.yml"
STORIES = "tests/lifecycle/stories.yml"
TOLERANCE = "0.05"  # the small model's F1 moves by a point or so between trainings; mislabelling costs more


def lifecycle(home: Path, *args: str, token: str = "") -> subprocess.CompletedProcess:
    """python -m lifecycle; the Rasa token goes in the environment (RASA_TOKEN), not on the
    command line where `ps` shows it."""
    result = subprocess.run([sys.executable, "-m", "lifecycle", "--models", str(home), *args],
                            cwd=services.ROOT, env=services.base_env(RASA_TOKEN=token),
                            capture_output=True, text=True, timeout=1800)
    with open(services.ARTIFACTS / "lifecycle.log", "a") as log:
        log.write(f"$ lifecycle {' '.join(args)}\n{result.stdout}{result.stderr}\nexit {result.returncode}\n\n")
    return result


def registry(home: Path) -> dict:
    return json.loads((home / "registry.json").read_text())


def current(home: Path) -> dict:
    state = registry(home)
    return next(m for m in state["models"] if m["id"] == state["current"])


class Lab:
    def __init__(self, home, data, rasa, token):
        self.home, self.data, self.token = home, data, token
        self.url = rasa.health_url.rstrip("/")

    def served(self) -> dict:
        response = requests.get(f"{self.url}/status", params={"token": self.token}, timeout=30)
        response.raise_for_status()
        return response.json()

    def retrain(self, data: Path, *extra: str) -> subprocess.CompletedProcess:
        return lifecycle(self.home, "retrain", "--config", CONFIG, "--stories", STORIES,
                         "--data", str(data), "--tolerance", TOLERANCE,
                         "--rasa-url", self.url, *extra, token=self.token)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, rasa_token):
    """A registry bootstrapped with its first model (trained without the held-out split), served
    by a real Rasa with the action server."""
    folder = tmp_path_factory.mktemp("lifecycle")
    services.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (services.ARTIFACTS / "lifecycle.log").write_text("")
    home, data = folder / "models", folder / "data"
    shutil.copytree(services.ROOT / "data", data)
    result = lifecycle(home, "retrain", "--config", CONFIG, "--stories", STORIES, "--data", str(data),
                       "--no-serve")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "bootstrap" in result.stdout and "PROMOTE" in result.stdout
    model = lifecycle(home, "current").stdout.strip()
    assert model == str((home / current(home)["file"]).resolve())
    db = services.seed_db(folder / "company.db")
    perception = services.closed_url()  # the small config needs no perception service
    actions = services.start_actions("lifecycle-actions", db, perception, wait=False)
    rasa = services.start_rasa("lifecycle-rasa", model, actions.health_url.rsplit("/health", 1)[0],
                               perception, folder / "tracker.db", rasa_token, wait=False)
    services.start_together(actions, rasa)
    yield Lab(home, data, rasa, rasa_token)
    rasa.stop()
    actions.stop()


def test_a_candidate_trained_on_mislabelled_data_is_refused(lab, tmp_path):
    before = current(lab.home)
    served_before = lab.served()["model_file"]
    assert served_before == before["file"]
    bad = tmp_path / "data"
    shutil.copytree(lab.data, bad)
    swapped = 0
    rotation = {"device_problem": "product_info", "product_info": "order_status",  # big intents,
                "order_status": "payment_problem", "payment_problem": "device_problem"}  # none in STORIES
    for path in bad.rglob("*.yml"):
        text = path.read_text()
        new = re.sub(r"^(- intent: )(%s)$" % "|".join(rotation),
                     lambda m: m.group(1) + rotation[m.group(2)], text, flags=re.M)
        swapped += text != new
        path.write_text(new)
    assert swapped
    result = lab.retrain(bad)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "REFUSED" in result.stdout and "intent F1 drops" in result.stdout
    assert "intent weighted F1 (gate)" in result.stdout  # the comparison is printed
    state = registry(lab.home)
    assert state["current"] == before["id"]
    refused = state["models"][-1]
    assert refused["status"] == "refused" and refused["file"] is None
    assert not list(lab.home.glob(f"{refused['id']}*.tar.gz"))
    assert lab.served()["model_file"] == served_before


def test_a_good_candidate_is_promoted_and_served_then_rollback_restores_the_previous_hash(lab, tmp_path):
    previous = current(lab.home)
    good = tmp_path / "data"
    shutil.copytree(lab.data, good)
    (good / "nlu" / "reviewed.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - hello there, anyone around?\n'
        "    - good evening Brightwave\n- intent: thank_you\n  examples: |\n    - cheers, that sorted it\n")
    result = lab.retrain(good)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "PROMOTE" in result.stdout and f"against current {previous['id']}" in result.stdout
    promoted = current(lab.home)
    assert promoted["id"] != previous["id"] and promoted["data_version"] != previous["data_version"]
    archive = lab.home / promoted["file"]
    assert sha256_file(archive) == promoted["sha256"]
    assert lab.served()["model_file"] == promoted["file"]
    reply = requests.post(f"{lab.url}/webhooks/rest/webhook", json={"sender": "lc", "message": "hello"},
                          headers=services.channel_auth(), timeout=60).json()
    assert reply and reply[0].get("text")
    assert (lab.home / previous["file"]).exists()  # the previous model is kept

    shown = lifecycle(lab.home, "status")
    assert promoted["sha256"] in shown.stdout and "refused" in shown.stdout

    # a wrong token: refused, nothing changes
    wrong = lifecycle(lab.home, "rollback", "--rasa-url", lab.url, token="wrong")
    assert wrong.returncode == 2 and "token" in wrong.stderr
    assert current(lab.home)["id"] == promoted["id"]

    back = lifecycle(lab.home, "rollback", "--rasa-url", lab.url, token=lab.token)
    assert back.returncode == 0, back.stdout + back.stderr
    restored = current(lab.home)
    assert restored["id"] == previous["id"] and restored["sha256"] == previous["sha256"]
    served = lab.served()["model_file"]
    assert served == previous["file"]
    assert sha256_file(lab.home / served) == previous["sha256"]
    assert registry(lab.home)["models"][-1]["status"] == "rolled_back"
