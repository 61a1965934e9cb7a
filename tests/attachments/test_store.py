"""The attachment store on a temporary folder: save, read, references, analyses, retention, ids."""
import hashlib
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from attachments.store import AttachmentStore, is_valid_id
from tests import services
from tests.perception.audio_material import silence

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(64))
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 100
WAV = silence(0.2)


@pytest.fixture
def store(tmp_path):
    return AttachmentStore(tmp_path / "attachments")


def test_save_returns_a_reference_and_keeps_the_bytes(store):
    ref = store.save(PNG, "png")
    assert is_valid_id(ref["id"])
    assert ref["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert (ref["mime"], ref["format"], ref["kind"], ref["size"]) == ("image/png", "png", "image", len(PNG))
    created = datetime.fromisoformat(ref["created"])
    assert created.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - created) < timedelta(minutes=1)
    assert store.read(ref["id"]) == PNG
    assert store.ref(ref["id"]) == ref
    assert store.path(ref["id"]).read_bytes() == PNG
    assert store.path(ref["id"]).is_relative_to(store.root)
    assert store.exists(ref["id"])
    assert list(store.ids()) == [ref["id"]]


def test_audio_reference_and_sniffing_when_no_format_is_given(store):
    ref = store.save(WAV)
    assert (ref["format"], ref["kind"], ref["mime"]) == ("wav", "audio", "audio/wav")
    assert store.save(JPEG, "jpeg")["kind"] == "image"


def test_each_save_gets_its_own_id(store):
    first, second = store.save(PNG, "png"), store.save(PNG, "png")
    assert first["id"] != second["id"]
    assert first["sha256"] == second["sha256"]


@pytest.mark.parametrize("data, fmt", [
    (b"", "png"),                                   # empty
    (b"just some text, not a picture\n", "png"),   # bytes are not what the format says
    (b"just some text, not a picture\n", None),    # nothing we know
    (PNG, "wav"),                                   # wrong format
    (PNG, "gif"),                                   # not a format we keep
    (PNG, "../png"),
])
def test_refuses_what_is_not_a_known_image_or_audio(store, data, fmt):
    with pytest.raises(ValueError):
        store.save(data, fmt)
    assert list(store.ids()) == []


def test_files_are_private_and_no_temporary_files_remain(store):
    ref = store.save(PNG, "png")
    store.save_analysis(ref["id"], {"kind": "photo"})
    assert store.path(ref["id"]).stat().st_mode & 0o077 == 0
    leftovers = [p.name for p in store.root.rglob("*") if p.name.startswith(".")]
    assert leftovers == []


def test_analysis_round_trip(store):
    ref = store.save(PNG, "png")
    assert store.analysis(ref["id"]) is None
    analysis = {"labels": [{"label": "laptop", "index": 620, "score": 0.61}],
                "embedding": [0.03125] * 1280, "kind": "screenshot", "ocr": {"text": "Error BW-1001 — café"}}
    store.save_analysis(ref["id"], analysis)
    assert store.analysis(ref["id"]) == analysis
    # the reference stays as it was, without the analysis
    assert "embedding" not in store.ref(ref["id"])
    store.save_analysis(ref["id"], {"kind": "photo"})  # replaced, not merged
    assert store.analysis(ref["id"]) == {"kind": "photo"}


def test_analysis_needs_an_existing_attachment(store):
    with pytest.raises(FileNotFoundError):
        store.save_analysis("att_" + "0" * 32, {"kind": "photo"})


def test_missing_attachment(store):
    missing = "att_" + "a" * 32
    assert store.ref(missing) is None
    assert store.analysis(missing) is None
    assert not store.exists(missing)
    with pytest.raises(FileNotFoundError):
        store.read(missing)
    assert store.delete(missing) is False


BAD_IDS = [
    "", "att_", "att_" + "0" * 31, "att_" + "0" * 33, "att_" + "A" * 32, "ATT_" + "0" * 32,
    "att_" + "g" * 32, "../../etc/passwd", "att_../../../../etc/passwd", "att_" + "0" * 32 + "/../x",
    "att_" + "0" * 32 + "\n", "att_" + "0" * 32 + ".json", "/tmp/att_" + "0" * 32,
    "att_" + "0" * 30 + "/.", "att_%2e%2e%2f" + "0" * 23, None, 123, b"att_" + b"0" * 32,
]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_ids_are_validated_before_touching_the_disk(store, bad):
    assert not is_valid_id(bad)
    for call in (store.read, store.ref, store.analysis, store.path, store.delete, store.exists):
        with pytest.raises(ValueError):
            call(bad)
    with pytest.raises(ValueError):
        store.save_analysis(bad, {"kind": "photo"})
    assert not store.root.exists()  # nothing was created, not even the root


def test_path_traversal_cannot_reach_outside_files(tmp_path, store):
    secret = tmp_path / "secret.json"
    secret.write_text('{"password": "hunter2"}')
    for attempt in ("../secret", "../../secret", str(secret), "att_/../../secret"):
        with pytest.raises(ValueError):
            store.ref(attempt)
        with pytest.raises(ValueError):
            store.read(attempt)
    assert secret.read_text() == '{"password": "hunter2"}'


def test_delete_removes_file_reference_and_analysis(store):
    ref = store.save(PNG, "png")
    store.save_analysis(ref["id"], {"kind": "photo"})
    assert store.delete(ref["id"]) is True
    assert store.ref(ref["id"]) is None and store.analysis(ref["id"]) is None
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def age(store, attachment_id: str, days: float) -> None:
    """Pretend an attachment was saved `days` ago."""
    path = store._ref_path(attachment_id)
    ref = json.loads(path.read_text())
    ref["created"] = (datetime.now(timezone.utc) - timedelta(days=days)).isoformat(timespec="seconds")
    path.write_text(json.dumps(ref))


def test_purge_deletes_only_old_attachments(store):
    old, old_analysed, recent = store.save(PNG, "png"), store.save(WAV, "wav"), store.save(JPEG, "jpeg")
    store.save_analysis(old_analysed["id"], {"kind": "photo"})
    store.save_analysis(recent["id"], {"kind": "photo"})
    age(store, old["id"], 31)
    age(store, old_analysed["id"], 45)
    age(store, recent["id"], 29)
    assert store.purge(30) == 2
    assert store.ref(old["id"]) is None and store.ref(old_analysed["id"]) is None
    assert store.analysis(old_analysed["id"]) is None
    assert store.read(recent["id"]) == JPEG and store.analysis(recent["id"]) == {"kind": "photo"}
    remaining = sorted(p.name for p in store.root.rglob("*") if p.is_file())
    assert remaining == sorted([recent["id"], recent["id"] + ".json", recent["id"] + ".analysis.json"])
    assert store.purge(30) == 0


def test_purge_uses_the_file_time_when_the_reference_is_gone(store):
    ref = store.save(PNG, "png")
    store._ref_path(ref["id"]).unlink()
    assert store.purge(1) == 0
    past = time.time() - 3 * 86400
    os.utime(store.path(ref["id"]), (past, past))
    assert store.purge(1) == 1
    assert not store.exists(ref["id"])


def test_purge_removes_old_orphans_and_temporary_files(store):
    ref = store.save(PNG, "png")
    store.save_analysis(ref["id"], {"kind": "photo"})
    store.path(ref["id"]).unlink()  # the file vanished, its sidecars stayed
    temporary = store.path(ref["id"]).parent / f".{ref['id']}.abc.tmp"
    temporary.write_bytes(b"half")
    assert store.purge(0, now=datetime.now(timezone.utc) + timedelta(seconds=5)) == 0  # nothing counted
    assert [p for p in store.root.rglob("*") if p.is_file()] == []


def test_purge_with_zero_days_empties_the_store_and_an_empty_store_is_fine(tmp_path, store):
    assert store.purge(30) == 0  # no root yet
    for _ in range(3):
        store.save(PNG, "png")
    assert store.purge(0, now=datetime.now(timezone.utc) + timedelta(seconds=5)) == 3
    assert list(store.ids()) == []


@pytest.mark.parametrize("bad", [-1, float("nan"), "30", None, True])
def test_purge_refuses_a_bad_age(store, bad):
    with pytest.raises(ValueError):
        store.purge(bad)


def test_purge_leaves_unknown_files_alone(store):
    ref = store.save(PNG, "png")
    other = store.path(ref["id"]).parent / "README"
    other.write_text("not ours")
    stray = store.root / "notes.txt"
    stray.write_text("not ours either")
    age(store, ref["id"], 100)
    assert store.purge(30) == 1
    assert other.exists() and stray.exists()


def test_root_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTACHMENTS_DIR", str(tmp_path / "from-env"))
    store = AttachmentStore()
    ref = store.save(PNG, "png")
    assert store.path(ref["id"]).is_relative_to(tmp_path / "from-env")


def run_purge(tmp_path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "attachments.purge", *args],
                          env=services.base_env(ATTACHMENTS_DIR=str(tmp_path / "attachments"), **env),
                          cwd=services.ROOT, capture_output=True, text=True, timeout=60)


def test_purge_command(tmp_path, store):
    old, recent = store.save(PNG, "png"), store.save(PNG, "png")
    age(store, old["id"], 10)
    result = run_purge(tmp_path, "--days", "7")
    assert result.returncode == 0, result.stderr
    assert "deleted 1 attachment" in result.stdout
    assert store.ref(old["id"]) is None and store.ref(recent["id"]) is not None
    # the default comes from ATTACHMENTS_RETENTION_DAYS
    age(store, recent["id"], 3)
    assert "deleted 0" in run_purge(tmp_path, ATTACHMENTS_RETENTION_DAYS="5").stdout
    assert "deleted 1" in run_purge(tmp_path, ATTACHMENTS_RETENTION_DAYS="2").stdout
    assert list(store.ids()) == []


def test_purge_command_refuses_a_bad_setting(tmp_path):
    assert run_purge(tmp_path, "--days", "-3").returncode == 2
    assert run_purge(tmp_path, ATTACHMENTS_RETENTION_DAYS="a month").returncode == 2
