"""Only models trained by us load: the archive the registry names as current must have the sha256
recorded in models/registry.json when the assistant starts. One changed byte and
`python -m lifecycle current` exits 2 with the reason, and scripts/run.sh and run_scaled.sh
refuse to start (before seeding or starting any process)."""
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from lifecycle.registry import sha256_file
from tests import services


def make_registry(home: Path) -> Path:
    """A registry whose current model is a small gzip'd tar archive (what `rasa train` writes)."""
    home.mkdir(parents=True)
    archive = home / "parley-20260101-000000-abcdef12.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        payload = b"fingerprint and model components" * 200
        info = tarfile.TarInfo("metadata.json")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    entry = {"id": archive.name[:-7], "file": archive.name, "sha256": sha256_file(archive),
             "data_version": "d", "metrics": {}, "trained_at": "2026-01-01T00:00:00Z",
             "promoted_at": "2026-01-01T00:00:00Z", "status": "current"}
    (home / "registry.json").write_text(json.dumps({"current": entry["id"], "heldout": None,
                                                    "models": [entry]}))
    return archive


def flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def run(command, home: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    env = services.base_env(PARLEY_MODELS=str(home), PARLEY_DB=str(tmp_path / "company.db"),
                            RASA_TOKEN="unused")
    return subprocess.run(command, cwd=services.ROOT, env=env, capture_output=True, text=True,
                          timeout=120, stdin=subprocess.DEVNULL)


def current(home: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "lifecycle", "current"], home, tmp_path)


def test_an_intact_archive_is_the_current_model(tmp_path):
    archive = make_registry(tmp_path / "models")
    result = current(tmp_path / "models", tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(archive.resolve())


def test_one_changed_byte_is_refused_with_the_reason(tmp_path):
    archive = make_registry(tmp_path / "models")
    flip_one_byte(archive)
    result = current(tmp_path / "models", tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""  # no path for a start script to use
    assert "was changed on disk" in result.stderr and "refused" in result.stderr


def test_a_missing_archive_is_refused(tmp_path):
    archive = make_registry(tmp_path / "models")
    archive.unlink()
    result = current(tmp_path / "models", tmp_path)
    assert result.returncode == 2 and "missing" in result.stderr


def test_an_archive_swapped_for_another_valid_one_is_refused(tmp_path):
    """A model not trained by us under the registered name: a valid archive, another hash."""
    archive = make_registry(tmp_path / "models")
    other = make_registry(tmp_path / "elsewhere")
    with tarfile.open(other, "w:gz") as tar:
        info = tarfile.TarInfo("metadata.json")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    archive.write_bytes(other.read_bytes())
    assert current(tmp_path / "models", tmp_path).returncode == 2


@pytest.mark.parametrize("script", ["scripts/run.sh", "scripts/run_scaled.sh"])
def test_the_start_scripts_refuse_a_tampered_model_before_starting_anything(tmp_path, script):
    archive = make_registry(tmp_path / "models")
    flip_one_byte(archive)
    result = run(["bash", script], tmp_path / "models", tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "refusing to start" in result.stderr and "was changed on disk" in result.stderr
    assert "started" not in result.stdout  # no service was started
    assert not (tmp_path / "company.db").exists()  # not even the demo records were seeded
