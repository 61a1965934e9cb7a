"""Cross-validated intent detection of Parley's own NLU (data/nlu): k-fold precision, recall
and F1 (macro and weighted), per-intent F1 (worst first) and a confusion matrix.

Runs in the dialogue environment: `.venv/dialogue/bin/python -m bench.nlu_cv`. Every fold
trains the NLU pipeline with `rasa train nlu` on the other folds and parses the held-out
examples with the trained model in this process. Folds are stratified by intent (fixed
seed); retrieval intents count as their base intent (faq/..., chitchat/... -> faq, chitchat),
as the pipeline has no ResponseSelector and DIET sees the base intent.

Pipeline: the shipped config.yml by default (also with --quick, which runs 2 folds;
`--config tests/config.yml` or any other file for another). A DIETClassifier in it gets
`--epochs` if given (quick: 10). The FusionFeaturizer's request timeout is raised to 60 s (a
busy machine must not turn embeddings into zeros); nothing else in the pipeline changes.
Scored is the intent the assistant acts on, so an `nlu_fallback` (FallbackClassifier) counts
as a miss; the classifier's own best intent is reported beside it. Entities: precision, recall
and F1 of the extracted entities against the annotated ones (same type and same characters),
micro over all held-out examples and per entity type. Examples whose metadata describes a
picture (data/nlu/multimodal.yml) are trained on but not scored: at run time the picture comes
from the attachment store, which the multimodal_ablation section measures.

Fallback thresholds: every held-out example keeps the classifier's top two confidences (the
calibrated probabilities of LinearIntentClassifier), and the FallbackClassifier's `threshold`
and `ambiguity_threshold` are chosen on a grid from them: the pair with the best macro-F1 of
the intent acted on (fallback = miss, the figure this section reports), ties to the higher
threshold and ambiguity; beside it, how many answers fall back and how many of the answered
are right. `--thresholds` prints the whole grid (the choice is written to config.yml by hand,
with the figures, in its comment).

The sentence embeddings come from the perception service through the cache and proxy of
bench/banking77.py (each fold would otherwise embed the same texts again).
"""
from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench.banking77 import CACHE, EmbeddingCache, EmbedProxy, quiet, rasa_env, VENV_DIALOGUE
from bench.common import (
    load_note,
    ROOT,
    arguments,
    figure,
    machine,
    machine_line,
    md_table,
    results_dir,
    save,
    spread,
    spread_text,
    write_section,
)
from bench.stack import Perception

NAME = "nlu_cv"
TITLE = "Parley NLU: cross-validated intent detection"
FALLBACK = "nlu_fallback"
SEED = 42
THRESHOLDS = [round(0.05 * i, 2) for i in range(1, 13)]  # 0.05 .. 0.60
AMBIGUITY = [0.0, 0.02, 0.05, 0.1]


# ---------------------------------------------------------------- pure parts


def fold_indices(labels: Sequence[str], folds: int, seed: int = SEED) -> List[List[int]]:
    """Held-out indices of each fold, stratified by label (sklearn StratifiedKFold, shuffled)."""
    from sklearn.model_selection import StratifiedKFold

    if folds < 2:
        raise ValueError("need at least 2 folds")
    counts = Counter(labels)
    if min(counts.values()) < folds:
        rare = sorted(label for label, n in counts.items() if n < folds)
        raise ValueError(f"intents with fewer examples than folds: {', '.join(rare)}")
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    return [sorted(test.tolist()) for _, test in splitter.split(list(range(len(labels))), list(labels))]


def intent_metrics(gold: Sequence[str], predicted: Sequence[str]) -> Dict[str, Any]:
    """Accuracy, macro and weighted precision/recall/F1 over the gold intents, and per intent."""
    from sklearn.metrics import precision_recall_fscore_support

    if not gold or len(gold) != len(predicted):
        raise ValueError("need as many predictions as gold labels, at least one")
    labels = sorted(set(gold))
    result: Dict[str, Any] = {"n": len(gold),
                              "accuracy": round(sum(g == p for g, p in zip(gold, predicted)) / len(gold), 4)}
    for average in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(gold, predicted, labels=labels, average=average,
                                                     zero_division=0)
        result[average] = {"precision": round(float(p), 4), "recall": round(float(r), 4), "f1": round(float(f), 4)}
    p, r, f, s = precision_recall_fscore_support(gold, predicted, labels=labels, average=None, zero_division=0)
    result["per_intent"] = {label: {"precision": round(float(p[i]), 4), "recall": round(float(r[i]), 4),
                                    "f1": round(float(f[i]), 4), "support": int(s[i])}
                            for i, label in enumerate(labels)}
    return result


def entity_metrics(gold: Sequence[Sequence[Tuple[str, int, int]]],
                   predicted: Sequence[Sequence[Tuple[str, int, int]]]) -> Dict[str, Any]:
    """Micro precision, recall and F1 of (entity type, start, end) spans over all examples, and
    per entity type."""
    if len(gold) != len(predicted):
        raise ValueError("need as many predictions as gold examples")
    counts: Dict[str, List[int]] = {}  # type -> [true positives, predicted, gold]
    for gold_spans, predicted_spans in zip(gold, predicted):
        gold_set, predicted_set = set(gold_spans), set(predicted_spans)
        for span in gold_set | predicted_set:
            row = counts.setdefault(span[0], [0, 0, 0])
            row[0] += span in gold_set and span in predicted_set
            row[1] += span in predicted_set
            row[2] += span in gold_set

    def prf(tp: int, n_predicted: int, n_gold: int) -> Dict[str, Any]:
        precision = tp / n_predicted if n_predicted else 0.0
        recall = tp / n_gold if n_gold else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
                "support": n_gold}

    total = [sum(row[i] for row in counts.values()) for i in range(3)]
    return {**prf(*total), "per_entity": {name: prf(*row) for name, row in sorted(counts.items())}}


def fallback_outcome(gold: Sequence[str], ranked: Sequence[Sequence[Tuple[str, float]]], threshold: float,
                     ambiguity: float) -> Dict[str, Any]:
    """What the FallbackClassifier would make of the classifier's ranking (best two with their
    confidences): nlu_fallback below `threshold` or within `ambiguity` of the second."""
    acted = []
    for ranking in ranked:
        best = ranking[0] if ranking else ("<none>", 0.0)
        second = ranking[1][1] if len(ranking) > 1 else 0.0
        acted.append(FALLBACK if best[1] < threshold or best[1] - second < ambiguity else best[0])
    answered = [(g, a) for g, a in zip(gold, acted) if a != FALLBACK]
    metrics = intent_metrics(gold, acted)
    return {"threshold": threshold, "ambiguity_threshold": ambiguity,
            "fallback_rate": round(1 - len(answered) / len(gold), 4),
            "answered_accuracy": round(sum(g == a for g, a in answered) / len(answered), 4) if answered else 0.0,
            "accuracy": metrics["accuracy"], "macro_f1": metrics["macro"]["f1"]}


def choose_thresholds(gold: Sequence[str], ranked: Sequence[Sequence[Tuple[str, float]]],
                      thresholds: Sequence[float] = THRESHOLDS,
                      ambiguities: Sequence[float] = AMBIGUITY) -> Tuple[Dict[str, Any], List[Dict[str, Any]]]:
    """(chosen outcome, every outcome on the grid): the best macro-F1 of the intent acted on
    (a fallback is a miss), ties to the higher threshold and then the higher ambiguity."""
    grid = [fallback_outcome(gold, ranked, t, a) for t in thresholds for a in ambiguities]
    best = max(grid, key=lambda o: (o["macro_f1"], o["threshold"], o["ambiguity_threshold"]))
    return best, grid


def worst_first(per_intent: Dict[str, Dict[str, Any]]) -> List[Tuple[str, Dict[str, Any]]]:
    """Intents by F1, lowest first (ties: more examples first, then name)."""
    return sorted(per_intent.items(), key=lambda item: (item[1]["f1"], -item[1]["support"], item[0]))


def confusion(gold: Sequence[str], predicted: Sequence[str]) -> Tuple[List[str], List[str], List[List[int]]]:
    """Rows: gold intents; columns: the same plus any other predicted label (e.g. nlu_fallback)."""
    rows = sorted(set(gold))
    columns = rows + sorted(set(predicted) - set(rows))
    index = {label: i for i, label in enumerate(columns)}
    matrix = [[0] * len(columns) for _ in rows]
    for g, p in zip(gold, predicted):
        matrix[rows.index(g)][index[p]] += 1
    return rows, columns, matrix


# ---------------------------------------------------------------- data and runs


def load_examples(data: Path) -> Tuple[Any, List[Any], List[bool]]:
    """Rasa's training data, its intent examples and whether each describes a picture."""
    from components.attachment_analyzer import described_attachments
    from rasa.shared.nlu.training_data.loading import load_data

    training_data = load_data(str(data))
    examples = training_data.intent_examples
    return training_data, examples, [bool(described_attachments(e)) for e in examples]


def fold_yaml(training_data: Any, examples: List[Any]) -> str:
    from rasa.shared.nlu.training_data.training_data import TrainingData

    part = TrainingData(training_examples=examples, entity_synonyms=training_data.entity_synonyms,
                        regex_features=training_data.regex_features, lookup_tables=training_data.lookup_tables)
    return part.nlu_as_yaml()


def gold_spans(example: Any) -> List[Tuple[str, int, int]]:
    return [(e["entity"], int(e["start"]), int(e["end"])) for e in example.get("entities") or []
            if "start" in e and "end" in e]


def fold_config(path: Path, epochs: Optional[int]) -> str:
    import yaml

    config = yaml.safe_load(path.read_text())
    for component in config["pipeline"]:
        if epochs and component["name"] == "DIETClassifier":
            component["epochs"] = int(epochs)
        if component["name"].endswith("FusionFeaturizer"):
            # the benchmark's load may slow the service: a timeout would zero the embedding
            component["timeout"] = max(float(component.get("timeout") or 0), 60.0)
    config.pop("policies", None)
    return yaml.safe_dump(config, sort_keys=False)


def train_fold(number: int, config_text: str, data_text: str, work: Path, perception_url: str,
               log_dir: Path) -> Tuple[Path, float]:
    import subprocess

    (work / "config.yml").write_text(config_text)
    (work / "nlu.yml").write_text(data_text)
    log_path = log_dir / f"fold{number}-train.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        result = subprocess.run(
            [str(VENV_DIALOGUE / "bin" / "rasa"), "train", "nlu", "--config", str(work / "config.yml"),
             "--nlu", str(work / "nlu.yml"), "--out", str(work), "--fixed-model-name", f"fold{number}"],
            cwd=ROOT, env=rasa_env(perception_url), stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise RuntimeError(f"training fold {number} failed (log {log_path}):\n"
                           f"{log_path.read_text(errors='replace')[-3000:]}")
    return work / f"fold{number}.tar.gz", time.monotonic() - started


async def parse_all(model: Path, texts: List[str]) -> List[Dict[str, Any]]:
    """Per text: the intent the assistant acts on, the classifier's ranking without
    nlu_fallback (name, confidence) and the entities as (type, start, end)."""
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage

    agent = Agent.load(str(model))
    results = []
    for text in texts:
        parsed = await agent.processor.parse_message(UserMessage(text))
        acted = (parsed.get("intent") or {}).get("name") or "<none>"
        ranking = [(i["name"], float(i.get("confidence") or 0.0)) for i in parsed.get("intent_ranking") or []
                   if i["name"] != FALLBACK]
        spans = [(e["entity"], int(e["start"]), int(e["end"])) for e in parsed.get("entities") or []
                 if "start" in e and "end" in e]
        results.append({"acted": acted, "best": ranking[0][0] if ranking else acted, "ranking": ranking[:2],
                        "entities": spans})
    return results


# ---------------------------------------------------------------- report


def plot_confusion(gold: Sequence[str], predicted: Sequence[str], folder: Path) -> str:
    import numpy as np

    rows, columns, matrix = confusion(gold, predicted)
    counts = np.array(matrix, dtype=float)
    shares = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    size = max(6.0, 0.28 * len(columns) + 2.5)
    fig, axes = figure(size + 1.0, size)
    image = axes.imshow(shares, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    axes.set_xticks(range(len(columns)))
    axes.set_xticklabels(columns, rotation=90, fontsize=6)
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels(rows, fontsize=6)
    for i in range(len(rows)):
        for j in range(len(columns)):
            if counts[i, j] and i != j:
                axes.text(j, i, int(counts[i, j]), ha="center", va="center", fontsize=5, color="#b22222")
    axes.set_xlabel("predicted intent (the assistant's, nlu_fallback included)")
    axes.set_ylabel("true intent")
    axes.set_title("Held-out predictions over all folds (share of each row; red: misses)")
    fig.colorbar(image, ax=axes, fraction=0.03)
    return save(fig, folder, f"{NAME}-confusion")


def markdown(result: Dict[str, Any], info: Dict[str, Any], load_end: List[float], picture: str) -> str:
    acted, diet = result["acted"], result["classifier"]
    rows = [
        ["the assistant's intent (fallback = miss)", f"{acted['accuracy']:.3f}", f"{acted['macro']['precision']:.3f}",
         f"{acted['macro']['recall']:.3f}", f"{acted['macro']['f1']:.3f}", f"{acted['weighted']['precision']:.3f}",
         f"{acted['weighted']['recall']:.3f}", f"{acted['weighted']['f1']:.3f}"],
        ["the classifier's best intent", f"{diet['accuracy']:.3f}", f"{diet['macro']['precision']:.3f}",
         f"{diet['macro']['recall']:.3f}", f"{diet['macro']['f1']:.3f}", f"{diet['weighted']['precision']:.3f}",
         f"{diet['weighted']['recall']:.3f}", f"{diet['weighted']['f1']:.3f}"],
    ]
    worst = [[name, f"{m['f1']:.3f}", f"{m['precision']:.3f}", f"{m['recall']:.3f}", m["support"]]
             for name, m in worst_first(acted["per_intent"])]
    mistakes = [[c["gold"], c["predicted"], c["count"]] for c in result["top_confusions"]]
    folds = result["folds"]
    entities = result.get("entities") or {"precision": 0, "recall": 0, "f1": 0, "support": 0, "per_entity": {}}
    entity_rows = [["all (micro)", f"{entities['precision']:.3f}", f"{entities['recall']:.3f}",
                    f"{entities['f1']:.3f}", entities["support"]]]
    entity_rows += [[name, f"{m['precision']:.3f}", f"{m['recall']:.3f}", f"{m['f1']:.3f}", m["support"]]
                    for name, m in entities["per_entity"].items()]
    chosen = result.get("thresholds") or {}
    threshold_text = ""
    if chosen.get("chosen"):
        c = chosen["chosen"]
        grid_rows = [[f"{o['threshold']:.2f}", f"{o['ambiguity_threshold']:.2f}", f"{o['fallback_rate']:.3f}",
                      f"{o['answered_accuracy']:.3f}", f"{o['accuracy']:.3f}", f"{o['macro_f1']:.3f}"]
                     for o in chosen["grid"] if o["ambiguity_threshold"] == c["ambiguity_threshold"]]
        threshold_text = "\n".join([
            f"Fallback thresholds from the held-out confidences (the best macro-F1 of the intent acted on, "
            f"a fallback counted as a miss): threshold "
            f"{c['threshold']:.2f}, ambiguity_threshold {c['ambiguity_threshold']:.2f}: "
            f"{c['fallback_rate']:.1%} fall back, {c['answered_accuracy']:.1%} of the answered right, "
            f"accuracy {c['accuracy']:.3f}, macro-F1 {c['macro_f1']:.3f} (the config's own: threshold "
            f"{chosen['configured']['threshold']}, ambiguity {chosen['configured']['ambiguity_threshold']}).",
            "",
            md_table(["threshold", "ambiguity", "fallback rate", "answered right", "accuracy", "macro F1"],
                     grid_rows, numeric=[True] * 6),
            "",
        ])
    return "\n".join([
        f"Machine: {machine_line(info)}; load average at the end {load_end[0]}. {load_note(info)}",
        "",
        f"{folds}-fold cross-validation of the NLU on data/nlu ({result['examples']} intent examples, "
        f"{result['intents']} intents; retrieval intents counted as their base intent), folds "
        f"stratified by intent with seed {SEED}. Pipeline: `{result['config']}`"
        f"{' with ' + str(result['epochs']) + ' DIET epochs' if result['epochs_overridden'] else ''}. "
        f"Each fold trains with `rasa train nlu` on the other folds ({result['train_s_mean']:.0f} s a "
        f"fold on average) and parses its held-out examples; {result['scored']} examples scored, "
        f"{result['picture_examples']} examples that describe a picture trained on but not scored "
        "(see the multimodal section). Scores pool the held-out predictions of all folds; "
        f"nlu_fallback answers: {result['fallbacks']}.",
        "",
        md_table(["scored label", "accuracy", "macro P", "macro R", "macro F1", "weighted P", "weighted R",
                  "weighted F1"], rows, numeric=[False] + [True] * 7),
        "",
        f"Macro-F1 per fold (the assistant's intent): {spread_text(result['fold_macro_f1'])}.",
        "",
        "Entities (same type and characters as annotated; the whole pipeline's extractors):",
        "",
        md_table(["entity", "precision", "recall", "F1", "annotated"], entity_rows,
                 numeric=[False, True, True, True, True]),
        "",
        threshold_text,
        "Per-intent F1 (the assistant's intent), worst first:",
        "",
        md_table(["intent", "F1", "precision", "recall", "examples"], worst,
                 numeric=[False, True, True, True, True]),
        "",
        "Most frequent confusions:",
        "",
        md_table(["true intent", "predicted", "count"], mistakes or [["–", "–", 0]],
                 numeric=[False, False, True]),
        "",
        picture,
    ])


# ---------------------------------------------------------------- main


def options(parser: Any) -> None:
    parser.add_argument("--folds", type=int, default=None, help="folds (default 3; quick 2)")
    parser.add_argument("--config", type=Path, default=None, help="pipeline (default: the shipped config.yml)")
    parser.add_argument("--thresholds", action="store_true",
                        help="print the fallback threshold grid from the held-out confidences")
    parser.add_argument("--epochs", type=int, default=None, help="DIET epochs (default: the config's; quick 10)")


def main(argv: Optional[Sequence[str]] = None) -> None:
    import yaml

    started = time.time()
    args = arguments(__doc__.splitlines()[0], argv, extra=options)
    info = machine()
    folds = args.folds or (2 if args.quick else 3)
    config_path = (args.config or ROOT / "config.yml").resolve()
    epochs = args.epochs or (10 if args.quick else None)
    out = results_dir(args.out)
    logs = out / f"{NAME}-logs"
    logs.mkdir(parents=True, exist_ok=True)

    training_data, examples, pictures = load_examples(ROOT / "data" / "nlu")
    labels = [e.get("intent") for e in examples]
    held_out = fold_indices(labels, folds)
    config_text = fold_config(config_path, epochs)
    gold: List[str] = []
    acted: List[str] = []
    diet: List[str] = []
    ranked: List[List[Tuple[str, float]]] = []
    found_spans: List[List[Tuple[str, int, int]]] = []
    annotated: List[List[Tuple[str, int, int]]] = []
    per_fold, train_seconds = [], []
    cache = EmbeddingCache(CACHE)
    with Perception(("embed",), "nlu-cv") as perception, EmbedProxy(perception.url, cache) as proxy:
        os.environ["PERCEPTION_URL"] = proxy.url  # the FusionFeaturizer loaded in this process
        for number, test_indices in enumerate(held_out, start=1):
            print(f"{NAME}: fold {number}/{folds} ...", flush=True)
            test_set = set(test_indices)
            train_examples = [e for i, e in enumerate(examples) if i not in test_set]
            scored = [i for i in test_indices if not pictures[i]]
            with tempfile.TemporaryDirectory(prefix=f"nlu-cv-fold{number}-") as scratch:
                model, seconds = train_fold(number, config_text, fold_yaml(training_data, train_examples),
                                            Path(scratch), proxy.url, logs)
                cache.save()
                quiet()
                parsed = asyncio.run(parse_all(model, [examples[i].get("text") for i in scored]))
            train_seconds.append(seconds)
            fold_gold = [labels[i] for i in scored]
            gold += fold_gold
            acted += [p["acted"] for p in parsed]
            diet += [p["best"] for p in parsed]
            ranked += [p["ranking"] for p in parsed]
            found_spans += [p["entities"] for p in parsed]
            annotated += [gold_spans(examples[i]) for i in scored]
            per_fold.append(intent_metrics(fold_gold, [p["acted"] for p in parsed])["macro"]["f1"])
            print(f"{NAME}: fold {number}: macro-F1 {per_fold[-1]:.3f}, training {seconds:.0f} s", flush=True)
        cache.save()

    acted_metrics = intent_metrics(gold, acted)
    diet_metrics = intent_metrics(gold, diet)
    chosen, grid = choose_thresholds(gold, ranked)
    fallback = next((c for c in yaml.safe_load(config_text)["pipeline"] if c["name"] == "FallbackClassifier"), {})
    thresholds = {"chosen": chosen, "grid": grid,
                  "configured": {"threshold": fallback.get("threshold"),
                                 "ambiguity_threshold": fallback.get("ambiguity_threshold")}}
    if args.thresholds:
        for outcome in grid:
            print(f"{NAME}: threshold {outcome['threshold']:.2f} ambiguity {outcome['ambiguity_threshold']:.2f}: "
                  f"fallback {outcome['fallback_rate']:.3f}, answered right {outcome['answered_accuracy']:.3f}, "
                  f"accuracy {outcome['accuracy']:.3f}, macro-F1 {outcome['macro_f1']:.3f}")
        print(f"{NAME}: chosen {chosen}", flush=True)
    top = Counter((g, p) for g, p in zip(gold, acted) if g != p).most_common(10)
    rows, columns, matrix = confusion(gold, acted)
    result = {
        "folds": folds, "config": str(config_path.relative_to(ROOT)) if config_path.is_relative_to(ROOT) else str(config_path),
        "epochs": epochs, "epochs_overridden": bool(epochs) and "DIETClassifier" in config_text,
        "examples": len(examples),
        "intents": len(set(labels)), "scored": len(gold), "picture_examples": sum(pictures),
        "fallbacks": sum(a == FALLBACK for a in acted), "seed": SEED,
        "train_s": [round(s, 1) for s in train_seconds],
        "train_s_mean": sum(train_seconds) / len(train_seconds),
        "fold_macro_f1": spread(per_fold), "acted": acted_metrics, "classifier": diet_metrics,
        "entities": entity_metrics(annotated, found_spans), "thresholds": thresholds,
        "top_confusions": [{"gold": g, "predicted": p, "count": n} for (g, p), n in top],
        "confusion_matrix": {"rows": rows, "columns": columns, "counts": matrix},
        "mode": "quick" if args.quick else ("full" if args.full else "normal"),
    }
    picture = plot_confusion(gold, acted, out)
    text = markdown(result, info, [round(x, 2) for x in os.getloadavg()], picture)
    write_section(NAME, TITLE, result, text, out=args.out, started=started)


if __name__ == "__main__":
    main()
