"""The fixed held-out split of the NLU examples.

An example's key is the sha256 of its text and its metadata (not its intent, so a relabelled copy
of a held-out example is still recognised and kept out of training). An example is held out when
its key falls in the first HELDOUT_FRACTION of the hash space; per intent at least one example is
held out and at least MIN_TRAIN stay in training (intents with fewer than MIN_TRAIN + 1 examples
stay whole in training). Examples with a picture in their metadata always train: Rasa's evaluation
(rasa.nlu.test) parses an example's text without its metadata, so "[image]" alone would be judged.
Membership depends only on the example itself, so the split is the same on every machine and on
every run.

The split is made once, when the registry is bootstrapped, and written to <models>/heldout.yml;
every later candidate is evaluated on that frozen file (labels included) and trains on the current
data minus every example whose key is in it. So data that has been mislabelled since shows up as
a drop in F1 instead of moving into the evaluation set with its wrong labels.
"""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Set, Tuple

HELDOUT_FRACTION = 0.15
MIN_TRAIN = 2


def _quiet_rasa() -> None:
    import warnings

    warnings.filterwarnings("ignore")


def example_key(message) -> str:
    """Stable key of one NLU example (rasa Message): its text and its example metadata."""
    from rasa.shared.nlu.constants import METADATA, METADATA_EXAMPLE, TEXT

    metadata = (message.get(METADATA) or {}).get(METADATA_EXAMPLE)
    raw = json.dumps([message.get(TEXT), metadata], sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def has_picture(message) -> bool:
    """An example with what its picture shows in its metadata (data/nlu/multimodal.yml). Rasa's
    evaluation parses the text alone, so these always train and are never held out."""
    from rasa.shared.nlu.constants import METADATA, METADATA_EXAMPLE

    return bool((message.get(METADATA) or {}).get(METADATA_EXAMPLE))


def _position(key: str) -> float:
    return int(key[:12], 16) / float(16 ** 12)


def load_nlu(data_dir: Path):
    """Every NLU file under `data_dir` (Rasa's own reader), merged into one TrainingData."""
    _quiet_rasa()
    import rasa.shared.data
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    files = sorted(rasa.shared.data.get_data_files([str(data_dir)], rasa.shared.data.is_nlu_file))
    if not files:
        raise ValueError(f"no NLU data under {data_dir}")
    return TrainingData().merge(*[load_data(f) for f in files])


def choose_heldout(examples: Iterable) -> Tuple[List, List]:
    """(train, heldout) messages: the deterministic per-intent split described above."""
    by_intent: Dict[str, List] = defaultdict(list)
    for message in examples:
        if message.get_full_intent() and not has_picture(message):
            by_intent[message.get_full_intent()].append(message)
    heldout_keys: Set[str] = set()
    for intent, messages in by_intent.items():
        ranked = sorted({example_key(m): m for m in messages}.items())  # by key, duplicates once
        if len(ranked) <= MIN_TRAIN:
            continue
        chosen = [key for key, _ in ranked if _position(key) < HELDOUT_FRACTION]
        if not chosen:
            chosen = [ranked[0][0]]
        chosen = chosen[: len(ranked) - MIN_TRAIN]
        heldout_keys.update(chosen)
    train, heldout, seen = [], [], set()
    for message in examples:
        if not message.get_full_intent():
            continue
        key = example_key(message)
        if key in heldout_keys:
            if key not in seen:
                heldout.append(message)
                seen.add(key)
        else:
            train.append(message)
    return train, heldout


def write_heldout(data_dir: Path, target: Path) -> int:
    """Make the held-out file from the data as it is now; returns the number of examples."""
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = load_nlu(data_dir)
    _, heldout = choose_heldout(data.training_examples)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(TrainingData(training_examples=heldout).nlu_as_yaml(), encoding="utf-8")
    return len(heldout)


def heldout_keys(heldout_file: Path) -> Set[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    _quiet_rasa()
    return {example_key(m) for m in load_data(str(heldout_file)).training_examples}


def training_copy(data_dir: Path, heldout_file: Path, target: Path) -> Tuple[int, int]:
    """Copy `data_dir` to `target` with its NLU examples minus the held-out ones (by key).

    Stories, rules and any other non-NLU file are copied as they are; the NLU files become one
    nlu.yml (examples, regexes, lookup tables, synonyms). Returns (kept, removed)."""
    import shutil

    import rasa.shared.data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    _quiet_rasa()
    data = load_nlu(data_dir)
    excluded = heldout_keys(heldout_file)
    nlu_files = {Path(f).resolve() for f in
                 rasa.shared.data.get_data_files([str(data_dir)], rasa.shared.data.is_nlu_file)}
    target.mkdir(parents=True, exist_ok=True)
    for path in sorted(Path(data_dir).rglob("*")):
        if path.is_file() and path.resolve() not in nlu_files:
            destination = target / path.relative_to(data_dir)
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, destination)
    kept = [m for m in data.training_examples if example_key(m) not in excluded]
    removed = len(data.training_examples) - len(kept)
    reduced = TrainingData(training_examples=kept,
                           entity_synonyms=data.entity_synonyms, regex_features=data.regex_features,
                           lookup_tables=data.lookup_tables, responses=data.responses)
    (target / "nlu.yml").write_text(reduced.nlu_as_yaml(), encoding="utf-8")
    return len(kept), removed
