"""Start and stop the real Parley processes for tests, each on its own free port."""
from __future__ import annotations

import ctypes
import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import requests

ROOT = Path(__file__).resolve().parents[1]
VENV_DIALOGUE = Path(os.environ.get("VENV_DIALOGUE", ROOT / ".venv" / "dialogue"))
VENV_PERCEPTION = Path(os.environ.get("VENV_PERCEPTION", ROOT / ".venv" / "perception"))
# scripts/test.sh runs the test files in one pytest-xdist worker per core (gw0, gw1, ...): each
# worker starts its own servers, so each keeps their logs in a folder of its own and gives Rasa a
# training cache of its own (two trainings at once must not share one SQLite cache)
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
ARTIFACTS = ROOT / "tests" / "artifacts" / WORKER if WORKER else ROOT / "tests" / "artifacts"
# the channel secret of every Rasa this test session starts (channels/sessions.py): the REST,
# multimodal and voice /turn channels answer only requests that carry it (`channel_auth()`)
CHANNEL_SECRET = secrets.token_hex(24)


def channel_auth() -> Dict[str, str]:
    """The header the company's back end sends to the REST, multimodal and voice /turn channels."""
    return {"Authorization": f"Bearer {CHANNEL_SECRET}"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def closed_url() -> str:
    """An address where nothing listens: a service that is down."""
    return f"http://127.0.0.1:{free_port()}"


def base_env(**overrides: str) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        ORT_DISABLE_TELEMETRY="1",
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        PYTHONPATH=str(ROOT),
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        # credentials.yml reads these (Rasa fails on unset ones); tests never reach the real Slack
        SLACK_BOT_TOKEN="", SLACK_SIGNING_SECRET="", SLACK_API_URL="https://slack.com/api/",
    )
    if WORKER:
        env["RASA_CACHE_DIRECTORY"] = str(ROOT / ".rasa" / f"cache-{WORKER}")
    env.update(overrides)
    return env


class Service:
    """A child process with a health URL; its output goes to tests/artifacts/<name>.log."""

    def __init__(self, name: str, command: List[str], env: Dict[str, str], health_url: str) -> None:
        self.name = name
        self.command = command
        self.env = env
        self.health_url = health_url
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"{name}.log"
        self.process: Optional[subprocess.Popen] = None

    def start(self, timeout: float) -> "Service":
        return self.launch().ready(timeout)

    def launch(self) -> "Service":
        """Starts the process without waiting for it (`ready` waits; `start_together` starts
        several at once, so that two start-ups of ~45 s share the two cores)."""
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            self.command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=die_with_parent(),  # a killed pytest leaves none running
        )
        return self

    def ready(self, timeout: float) -> "Service":
        """Waits until the health URL answers; stops the process and raises if it does not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited during start-up:\n{self.tail()}")
            try:
                if requests.get(self.health_url, timeout=2).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(1)
        self.stop()
        raise RuntimeError(f"{self.name} not healthy after {timeout}s:\n{self.tail()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def start_together(*launched: Service, timeout: float = 400) -> List[Service]:
    """Waits for services started with `wait=False` (launched from this thread, so each still dies
    with the test process); if one fails, all are stopped and its error is raised."""
    try:
        for service in launched:
            service.ready(timeout)
    except BaseException:
        for service in launched:
            service.stop()
        raise
    return list(launched)


def serve_in_thread(app: Any) -> int:
    """Serves a Sanic app (a channel's blueprint alone, no Rasa) from a daemon thread of the test
    process on a free port; returns the port once it listens."""
    import asyncio

    port = free_port()
    ready = threading.Event()

    def run() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        async def main() -> None:
            server = await app.create_server(host="127.0.0.1", port=port, return_asyncio_server=True)
            await server.startup()
            ready.set()
            await server.serve_forever()

        loop.run_until_complete(main())

    threading.Thread(target=run, daemon=True).start()
    assert ready.wait(30), "the test server did not start"
    return port


def start_perception(name: str = "perception", timeout: float = 300,
                     config: Optional[Path] = None) -> Service:
    """The perception service; `config` replaces perception/config.yml (a subset of tasks)."""
    port = free_port()
    env = base_env(PERCEPTION_HOST="127.0.0.1", PERCEPTION_PORT=str(port))
    if config is not None:
        env["PERCEPTION_CONFIG"] = str(config)
    return Service(name, [str(VENV_PERCEPTION / "bin" / "python"), "-m", "perception"], env,
                   f"http://127.0.0.1:{port}/health").start(timeout)


def seed_db(path: Path) -> Path:
    subprocess.run([str(VENV_DIALOGUE / "bin" / "python"), "-m", "knowledge.seed", "--db", str(path),
                    "--pack", str(ROOT / "packs" / "brightwave"), "--reset"],
                   env=base_env(), cwd=ROOT, check=True, capture_output=True)
    return path


def start_actions(name: str, db: Path, perception_url: str, timeout: float = 120,
                  extra_args: Optional[List[str]] = None, wait: bool = True) -> Service:
    """The action server; `wait=False` returns it launched, for `start_together`."""
    port = free_port()
    env = base_env(PARLEY_DB=str(db), PERCEPTION_URL=perception_url,
                   COMPANY_DIR=str(ROOT / "packs" / "brightwave"),
                   SANIC_HOST="127.0.0.1")  # rasa_sdk binds 0.0.0.0 unless told: loopback only
    command = [str(VENV_DIALOGUE / "bin" / "python"), "-m", "rasa_sdk", "--actions", "actions",
               "--port", str(port), *(extra_args or [])]
    service = Service(name, command, env, f"http://127.0.0.1:{port}/health").launch()
    return service.ready(timeout) if wait else service


def start_rasa(name: str, model: str, actions_url: str, perception_url: str, tracker_db: Path,
               token: str, timeout: float = 400, attachments_dir: Optional[Path] = None,
               extra_env: Optional[Dict[str, str]] = None, endpoints: str = "endpoints.yml",
               port: Optional[int] = None, extra_args: Optional[List[str]] = None,
               wait: bool = True, credentials: str = "credentials.yml") -> Service:
    """Rasa as scripts/run.sh starts it (`python -m rasa_extensions run`: Parley's extensions
    installed), with the test credentials; `wait=False` returns it launched, for `start_together`."""
    port = port or free_port()  # a fixed port: the same instance restarted
    env = base_env(ACTION_ENDPOINT_URL=f"{actions_url}/webhook", PERCEPTION_URL=perception_url,
                   TRACKER_URL=f"sqlite:///{tracker_db}", PARLEY_CHANNEL_SECRET=CHANNEL_SECRET)
    if attachments_dir is not None:  # the multimodal channel's AttachmentStore
        env["ATTACHMENTS_DIR"] = str(attachments_dir)
    env.update(extra_env or {})  # e.g. the Slack channel's token and API URL
    command = [str(VENV_DIALOGUE / "bin" / "python"), "-m", "rasa_extensions", "run", "--model", model,
               "--endpoints", endpoints, "--credentials", credentials,
               "--port", str(port), "--enable-api", f"--auth-token={token}", *(extra_args or [])]
    service = Service(name, command, env, f"http://127.0.0.1:{port}/").launch()
    return service.ready(timeout) if wait else service


def make_material(tool: str, folder: Path) -> Path:
    """Runs a script that draws test pictures (e.g. tests/e2e/multimodal_material.py, with Chromium
    and Pillow) in the perception environment, writing into `folder`; returns the folder."""
    result = subprocess.run([str(VENV_PERCEPTION / "bin" / "python"), str(ROOT / tool), str(folder)],
                            capture_output=True, text=True, timeout=300, env=base_env())
    assert result.returncode == 0, result.stderr[-3000:]
    return folder


def train_model(config: str, perception_url: str) -> str:
    """scripts/train.sh: trains only when config, domain, data or components changed."""
    result = subprocess.run(["scripts/train.sh", config], env=base_env(PERCEPTION_URL=perception_url),
                            cwd=ROOT, capture_output=True, text=True, timeout=3000)
    (ARTIFACTS / "train.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"training failed:\n{result.stderr[-4000:]}")
    return str(ROOT / result.stdout.strip().splitlines()[-1])


def end(process: Optional[subprocess.Popen], sig: int = signal.SIGTERM, timeout: float = 30) -> None:
    """Sends `sig` to a child still running, waits up to `timeout` s, then kills it."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def die_with_parent(sig: int = signal.SIGTERM) -> Callable[[], None]:
    """A preexec_fn: the child gets `sig` when the test process dies (Linux's PR_SET_PDEATHSIG), so
    a killed pytest leaves no server of its own running. Elsewhere it does nothing, and so it does
    for a child started from another thread than the main one: the kernel sends the signal when
    the starting *thread* ends (a thread pool's worker would take its servers down with it)."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return lambda: None
    return lambda: prctl(1, int(sig))  # 1: PR_SET_PDEATHSIG


def wait_until(check: Callable[[], Any], what: str, seconds: float = 300.0,
               detail: Optional[Callable[[], str]] = None) -> Any:
    """Polls check() every 0.5 s and returns its first truthy value; after `seconds` (a generous
    deadline, not a measure of speed) fails naming `what` (and detail(), when given)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"no {what} after {seconds:.0f} s" + (f"; {detail()}" if detail else ""))
