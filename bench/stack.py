"""The real Parley processes for a benchmark: perception service, action server and `rasa run`.

`Stack` starts them the way the tests do (tests/services.py: each on a free port, logs in
tests/artifacts/<name>.log, the model trained from tests/config.yml by scripts/train.sh, which
reuses models/parley-tests-config-<fingerprint>.tar.gz when nothing changed), with two
differences for a load test:

- the public channels' rate limits (channels/guard.py, PARLEY_RATE_*) are off for this Rasa
  instance (all simulated customers come from 127.0.0.1, so the per-address budget would answer
  most load turns with 429 and measure the guard, not the assistant);
- it knows every process id, so it reads each process's (and its children's) peak memory (VmHWM)
  and CPU time from /proc.

Stops only the processes it started (each in its own process group) and removes its scratch
folder (company database, SQLite tracker store, attachments).
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from tests import services

RATE_LIMITS_OFF = {"PARLEY_RATE_TEXT_PER_MIN": "0", "PARLEY_RATE_MEDIA_PER_MIN": "0",
                   "PARLEY_RATE_ADDRESS_PER_MIN": "0", "PARLEY_RATE_ADDRESS_MEDIA_PER_MIN": "0"}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DEGRADED = {"embedding_timeouts": "sentence embeddings unavailable, using zeros",
            "action_apologies": "the customer gets an apology"}


def descendants(pid: int) -> List[int]:
    """pid and every process below it (from /proc/*/stat parent ids)."""
    parents: Dict[int, List[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(parents.get(current, []))
    return found


def _status_kb(pid: int, key: str) -> Optional[int]:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of pid and its living children (and of the children they reaped)."""
    total = 0
    for member in descendants(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return total / CLOCK_TICKS


def memory(pid: int) -> Dict[str, Optional[float]]:
    """Peak (VmHWM) and current (VmRSS) resident memory in MB of pid, and of pid with its living
    children: the tree's peak is the sum of each member's own peak (an upper bound: the peaks
    need not have happened at the same moment)."""
    members = descendants(pid)
    peaks = [_status_kb(member, "VmHWM") for member in members]
    now = [_status_kb(member, "VmRSS") for member in members]
    return {"peak_mb": round((peaks[0] or 0) / 1024, 1) if peaks and peaks[0] is not None else None,
            "rss_mb": round((now[0] or 0) / 1024, 1) if now and now[0] is not None else None,
            "tree_peak_mb": round(sum(p or 0 for p in peaks) / 1024, 1),
            "tree_rss_mb": round(sum(r or 0 for r in now) / 1024, 1),
            "processes": len([p for p in peaks if p is not None])}


class Stack:
    """perception -> (model) -> action server -> Rasa with the REST, multimodal and voice channels."""

    def __init__(self, prefix: str, model: Optional[str] = None) -> None:
        self.prefix = prefix
        self.model = model
        self.scratch: Optional[Path] = None
        self.services: Dict[str, services.Service] = {}
        self.url = ""
        self.perception_url = ""
        self.startup_seconds: Dict[str, float] = {}

    def start(self) -> "Stack":
        self.scratch = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
        try:
            began = time.monotonic()
            perception = services.start_perception(f"{self.prefix}-perception")
            self.services["perception"] = perception
            self.perception_url = perception.health_url.rsplit("/health", 1)[0]
            self.startup_seconds["perception"] = round(time.monotonic() - began, 1)
            began = time.monotonic()
            self.model = self.model or services.train_model("tests/config.yml", self.perception_url)
            self.startup_seconds["model (trained or reused)"] = round(time.monotonic() - began, 1)
            began = time.monotonic()
            db = services.seed_db(self.scratch / "company.db")
            actions = services.start_actions(f"{self.prefix}-actions", db, self.perception_url)
            self.services["actions"] = actions
            self.startup_seconds["actions"] = round(time.monotonic() - began, 1)
            began = time.monotonic()
            rasa = services.start_rasa(f"{self.prefix}-rasa", self.model,
                                       actions.health_url.rsplit("/health", 1)[0], self.perception_url,
                                       self.scratch / "tracker.db", uuid.uuid4().hex,
                                       attachments_dir=self.scratch / "attachments", extra_env=RATE_LIMITS_OFF,
                                       extra_args=["--interface", "127.0.0.1"])  # no open guard: loopback
            self.services["rasa"] = rasa
            self.startup_seconds["rasa"] = round(time.monotonic() - began, 1)
            self.url = rasa.health_url.rstrip("/")
            # its channel secret, for the clients in this process (bench.load.channel_auth)
            os.environ["PARLEY_CHANNEL_SECRET"] = services.CHANNEL_SECRET
        except BaseException:
            self.stop()
            raise
        return self

    def pids(self) -> Dict[str, int]:
        return {name: service.process.pid for name, service in self.services.items()
                if service.process is not None and service.process.poll() is None}

    def memory(self) -> Dict[str, Dict[str, Optional[float]]]:
        return {name: memory(pid) for name, pid in self.pids().items()}

    def cpu(self) -> Dict[str, float]:
        return {name: cpu_seconds(pid) for name, pid in self.pids().items()}

    def log_counts(self) -> Dict[str, int]:
        """Signs of degraded answers in Rasa's log since start: NLU without sentence embeddings
        (the perception service slower than the FusionFeaturizer's 5 s timeout, during which
        Rasa's event loop waited) and custom actions replaced by an apology (resilience/actions.py)."""
        rasa = self.services.get("rasa")
        counts = {name: 0 for name in DEGRADED}
        try:
            text = rasa.log_path.read_text(errors="replace") if rasa else ""
        except OSError:
            return counts
        for line in text.splitlines():
            for name, marker in DEGRADED.items():
                if marker in line:
                    counts[name] += 1
        return counts

    def stop(self) -> None:
        for name in ("rasa", "actions", "perception"):
            service = self.services.get(name)
            if service is not None:
                service.stop()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
            self.scratch = None

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def serves(url: str, tasks: Sequence[str]) -> bool:
    """Whether the perception service at `url` answers with every task's engine loaded."""
    import requests

    try:
        engines = requests.get(f"{url}/health", timeout=5).json().get("engines") or {}
    except (requests.RequestException, ValueError):
        return False
    return all((engines.get(task) or {}).get("loaded") for task in tasks)


class Perception:
    """PERCEPTION_URL when it serves every task in `tasks`; else a perception service of our own
    with only those tasks (less memory, a faster start), stopped on exit."""

    def __init__(self, tasks: Sequence[str], name: str) -> None:
        self.tasks = tuple(tasks)
        self.name = name
        self.url = os.environ.get("PERCEPTION_URL", "http://127.0.0.1:8700").rstrip("/")
        self.service: Any = None
        self.folder: Optional[tempfile.TemporaryDirectory] = None

    def __enter__(self) -> "Perception":
        if serves(self.url, self.tasks):
            return self
        import yaml

        self.folder = tempfile.TemporaryDirectory(prefix=f"{self.name}-perception-")
        config = yaml.safe_load((services.ROOT / "perception" / "config.yml").read_text())
        config["tasks"] = {k: v for k, v in config["tasks"].items() if k in self.tasks}
        path = Path(self.folder.name) / "perception.yml"
        path.write_text(yaml.safe_dump(config))
        print(f"starting a perception service ({', '.join(self.tasks)}) ...", flush=True)
        self.service = services.start_perception(f"{self.name}-perception", config=path)
        self.url = self.service.health_url.rsplit("/health", 1)[0]
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.service:
            self.service.stop()
        if self.folder:
            self.folder.cleanup()
