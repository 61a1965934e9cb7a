"""The lifecycle's parts without training: the held-out split, the registry, the gate."""
import shutil

import pytest

from lifecycle import gate, split
from lifecycle.cli import data_version, main
from lifecycle.registry import Registry, RegistryError, sha256_file
from tests import services

DATA = services.ROOT / "data"


# ---------------------------------------------------------------- split
@pytest.fixture(scope="module")
def nlu():
    return split.load_nlu(DATA)


def test_split_is_deterministic_disjoint_and_keeps_every_intent_on_both_sides(nlu):
    train, heldout = split.choose_heldout(nlu.training_examples)
    again_train, again_heldout = split.choose_heldout(list(reversed(nlu.training_examples)))
    keys = lambda messages: {split.example_key(m) for m in messages}  # noqa: E731
    assert keys(heldout) == keys(again_heldout) and keys(train) == keys(again_train)
    assert not keys(train) & keys(heldout)
    intents = {m.get_full_intent() for m in nlu.training_examples}
    assert {m.get_full_intent() for m in train} == intents
    assert {m.get_full_intent() for m in heldout} == intents
    assert not any(split.has_picture(m) for m in heldout)  # evaluated on their words alone
    assert any(split.has_picture(m) for m in train)
    text_only = [m for m in nlu.training_examples if not split.has_picture(m)]
    assert 0.08 < len(heldout) / len(text_only) < 0.22


def test_key_ignores_the_label_but_not_the_picture(nlu):
    from rasa.shared.nlu.training_data.message import Message

    a = Message.build("what is this", "payment_problem", None, None, {"attachment": {"text": "x"}})
    b = Message.build("what is this", "login_problem", None, None, {"attachment": {"text": "x"}})
    c = Message.build("what is this", "payment_problem", None, None, {"attachment": {"text": "y"}})
    assert split.example_key(a) == split.example_key(b) != split.example_key(c)


def test_training_copy_leaves_out_heldout_examples_even_relabelled(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    heldout = tmp_path / "heldout.yml"
    count = split.write_heldout(data, heldout)
    # the data changes after the split: a held-out example gets another label
    victim = next(iter(split.load_nlu(heldout).training_examples))
    text = victim.get("text")
    (data / "nlu" / "relabelled.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: goodbye\n  examples: |\n    - ' + text + "\n")
    kept, removed = split.training_copy(data, heldout, tmp_path / "train")
    trained = split.load_nlu(tmp_path / "train")
    assert removed >= count and kept == len(trained.training_examples)
    assert not split.heldout_keys(heldout) & {split.example_key(m) for m in trained.training_examples}
    assert (tmp_path / "train" / "stories.yml").read_text() == (data / "stories.yml").read_text()
    assert trained.regex_features and trained.lookup_tables  # regexes and lookups kept


def test_data_version_changes_with_data_domain_or_config(tmp_path):
    data = tmp_path / "data"
    shutil.copytree(DATA, data)
    domain, config = services.ROOT / "domain.yml", services.ROOT / "tests" / "lifecycle" / "config.yml"
    first = data_version(data, domain, config)
    assert first == data_version(data, domain, config)
    (data / "nlu" / "extra.yml").write_text('version: "3.1"\nnlu: []\n')
    assert data_version(data, domain, config) != first
    assert data_version(data, domain, services.ROOT / "tests" / "config.yml") != data_version(data, domain, config)


# ---------------------------------------------------------------- registry
def _entry(registry: Registry, model_id: str, content: bytes, promoted_at=None) -> dict:
    path = registry.folder / f"{model_id}.tar.gz"
    path.write_bytes(content)
    return {"id": model_id, "file": path.name, "sha256": sha256_file(path), "data_version": "d",
            "metrics": {}, "trained_at": "t", "promoted_at": promoted_at, "status": "previous"}


def test_registry_checks_the_archive_hash(tmp_path):
    registry = Registry(tmp_path)
    entry = _entry(registry, "m1", b"model one")
    assert registry.verified_archive(entry) == tmp_path / "m1.tar.gz"
    (tmp_path / "m1.tar.gz").write_bytes(b"model one, changed")
    with pytest.raises(RegistryError, match="changed on disk"):
        registry.verified_archive(entry)
    (tmp_path / "m1.tar.gz").unlink()
    with pytest.raises(RegistryError, match="missing"):
        registry.verified_archive(entry)
    with pytest.raises(RegistryError, match="no archive"):
        registry.verified_archive(dict(entry, file=None))


def test_rollback_pointer_goes_to_the_previous_promoted_model(tmp_path):
    registry = Registry(tmp_path)
    state = registry.load()
    first = _entry(registry, "m1", b"one")
    registry.add(state, first)
    registry.make_current(state, first)
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback_target(state)
    refused = dict(_entry(registry, "m2", b"two"), file=None, status="refused")
    registry.add(state, refused)
    second = _entry(registry, "m3", b"three")
    registry.add(state, second)
    registry.make_current(state, second)
    registry.save(state)
    state = registry.load()
    assert state["current"] == "m3"
    target = registry.rollback_target(state)
    assert target["id"] == "m1"  # the refused one is skipped
    registry.make_current(state, registry.entry(state, "m1"), rollback=True)
    assert state["current"] == "m1" and registry.entry(state, "m3")["status"] == "rolled_back"
    with pytest.raises(RegistryError):
        registry.rollback_target(state)


def test_rollback_and_current_refuse_a_tampered_archive(tmp_path, capsys):
    registry = Registry(tmp_path)
    state = registry.load()
    for number in (1, 2):
        entry = _entry(registry, f"m{number}", f"model {number}".encode())
        registry.add(state, entry)
        registry.make_current(state, entry)
    registry.save(state)
    (tmp_path / "m1.tar.gz").write_bytes(b"evil")
    assert main(["--models", str(tmp_path), "rollback", "--no-serve"]) == 2
    assert "changed on disk" in capsys.readouterr().err
    assert registry.load()["current"] == "m2"
    assert main(["--models", str(tmp_path), "current"]) == 0
    assert capsys.readouterr().out.strip() == str((tmp_path / "m2.tar.gz").resolve())
    (tmp_path / "m2.tar.gz").write_bytes(b"evil too")
    assert main(["--models", str(tmp_path), "current"]) == 2
    assert capsys.readouterr().out == ""


def test_current_prints_nothing_without_a_registry(tmp_path, capsys):
    assert main(["--models", str(tmp_path / "none"), "current"]) == 0
    assert capsys.readouterr().out == ""
    assert main(["--models", str(tmp_path / "none"), "rollback", "--no-serve"]) == 2


def test_a_second_retrain_at_the_same_time_is_refused(tmp_path):
    registry = Registry(tmp_path)
    with registry.locked():
        with pytest.raises(RegistryError, match="another retrain"):
            with Registry(tmp_path).locked():
                pass


def test_bad_arguments_are_refused(tmp_path, capsys):
    assert main(["--models", str(tmp_path), "retrain", "--tolerance", "-1", "--no-serve"]) == 2
    with pytest.raises(SystemExit):
        main(["--models", str(tmp_path), "retrain", "--tolerance", "abc"])
    small = str(services.ROOT / "tests" / "lifecycle" / "config.yml")
    assert main(["--models", str(tmp_path), "retrain", "--no-serve", "--config", small,
                 "--data", str(tmp_path / "nothing")]) == 2
    assert "no NLU data" in capsys.readouterr().err
    assert main(["--models", str(tmp_path), "retrain", "--no-serve", "--config", str(tmp_path / "none.yml")]) == 2
    assert "error:" in capsys.readouterr().err


def test_the_shipped_config_needs_the_perception_service(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("PERCEPTION_URL", services.closed_url())
    assert main(["--models", str(tmp_path), "retrain", "--no-serve",
                 "--config", str(services.ROOT / "config.yml")]) == 2
    assert "perception service" in capsys.readouterr().err
    assert not (tmp_path / "registry.json").exists()


# ---------------------------------------------------------------- gate
def _metrics(f1, failed=0, total=3):
    return gate.Metrics(accuracy=f1, macro_f1=f1, weighted_f1=f1, stories_total=total,
                        stories_failed=failed, failed_stories=["s"] * failed)


@pytest.mark.parametrize("current,candidate,tolerance,promote", [
    (None, _metrics(0.5), 0.02, True),                     # bootstrap: stories pass
    (None, _metrics(0.9, failed=1), 0.02, False),          # bootstrap: a story fails
    (_metrics(0.90), _metrics(0.95), 0.02, True),          # better
    (_metrics(0.90), _metrics(0.90), 0.0, True),           # equal, no tolerance
    (_metrics(0.90), _metrics(0.885), 0.02, True),         # within the tolerance
    (_metrics(0.90), _metrics(0.88), 0.02, True),          # exactly the tolerance
    (_metrics(0.90), _metrics(0.87), 0.02, False),         # drops too much
    (_metrics(0.90), _metrics(0.99, failed=1), 0.02, False),  # better F1 but a story fails
    (_metrics(0.90), _metrics(0.95, total=0), 0.02, False),   # no stories run
])
def test_gate_decision_table(current, candidate, tolerance, promote):
    decision = gate.decide(candidate, current, tolerance)
    assert decision.promote is promote
    assert bool(decision.reasons) is not promote
    table = gate.comparison(candidate, current, decision)
    assert ("PROMOTE" in table) is promote and "weighted F1" in table
