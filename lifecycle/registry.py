"""models/registry.json: every model the lifecycle trained, which one is served, and how each did.

    {"current": "<id>" | null,
     "heldout": {"file": "heldout.yml", "sha256": "..."},
     "models": [{"id", "file" (name in the models folder, null once a refused one is deleted),
                 "sha256" (of the archive), "data_version", "config", "metrics", "evaluations",
                 "trained_at", "promoted_at", "status": "current"|"previous"|"refused"|"rolled_back",
                 "reason"}]}

Promoted archives are never deleted. Before an archive is loaded its sha256 is checked against the
entry (a file changed on disk is refused). Writes are atomic (temp file + rename) under an
exclusive lock on registry.lock, so two retrains cannot interleave.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

REGISTRY_FILE = "registry.json"
HELDOUT_FILE = "heldout.yml"


class RegistryError(Exception):
    """Refused: an unknown entry, a missing or tampered archive, nothing to roll back to."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Registry:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / REGISTRY_FILE
        self.heldout_path = self.folder / HELDOUT_FILE

    # ------------------------------------------------------------ storage
    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> Dict[str, Any]:
        if not self.path.exists():
            return {"current": None, "heldout": None, "models": []}
        return json.loads(self.path.read_text(encoding="utf-8"))

    def save(self, state: Dict[str, Any]) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(dir=self.folder, prefix=".registry-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(state, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(temp, self.path)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive for the whole retrain or rollback (raises when another one runs)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "registry.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RegistryError(f"another retrain or rollback is running ({self.folder})")
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # ------------------------------------------------------------ queries
    @staticmethod
    def entry(state: Dict[str, Any], model_id: Optional[str]) -> Optional[Dict[str, Any]]:
        return next((m for m in state["models"] if m["id"] == model_id), None)

    def current(self, state: Optional[Dict[str, Any]] = None) -> Optional[Dict[str, Any]]:
        state = state if state is not None else self.load()
        return self.entry(state, state.get("current"))

    def archive(self, entry: Dict[str, Any]) -> Path:
        return self.folder / entry["file"]

    def verified_archive(self, entry: Dict[str, Any]) -> Path:
        """The entry's archive after checking that its sha256 is the one recorded."""
        if not entry.get("file"):
            raise RegistryError(f"model {entry['id']} has no archive (refused models are deleted)")
        path = self.archive(entry)
        if not path.is_file():
            raise RegistryError(f"archive of model {entry['id']} is missing: {path}")
        actual = sha256_file(path)
        if actual != entry["sha256"]:
            raise RegistryError(f"archive of model {entry['id']} was changed on disk "
                                f"(sha256 {actual[:12]}…, registry says {entry['sha256'][:12]}…): refused")
        return path

    @staticmethod
    def rollback_target(state: Dict[str, Any]) -> Dict[str, Any]:
        """The model promoted before the current one (its archive kept), newest first."""
        current = state.get("current")
        promoted = [m for m in state["models"] if m.get("promoted_at") and m.get("file")]
        promoted.sort(key=lambda m: m["promoted_at"])
        ids = [m["id"] for m in promoted]
        if current not in ids:
            raise RegistryError("no current model to roll back from")
        index = ids.index(current)
        if index == 0:
            raise RegistryError("nothing to roll back to: the current model is the first one promoted")
        return promoted[index - 1]

    # ------------------------------------------------------------ changes
    @staticmethod
    def add(state: Dict[str, Any], entry: Dict[str, Any]) -> None:
        state["models"].append(entry)

    @staticmethod
    def make_current(state: Dict[str, Any], entry: Dict[str, Any], rollback: bool = False) -> None:
        previous = Registry.entry(state, state.get("current"))
        if previous is not None and previous is not entry:
            previous["status"] = "rolled_back" if rollback else "previous"
        entry["status"] = "current"
        if rollback:
            entry["restored_at"] = now()
        else:
            entry["promoted_at"] = now()
        state["current"] = entry["id"]

    def history(self, state: Optional[Dict[str, Any]] = None) -> List[Dict[str, Any]]:
        state = state if state is not None else self.load()
        return list(state["models"])
