"""Ablation of the multimodal NLU (issue 4): text-only vs concat vs weighted fusion.

Run with the dialogue venv from the repository root:

    .venv/dialogue/bin/python -m bench.multimodal_ablation [--epochs 40] [--refresh-analyses]

1. The evaluation set is bench/data/multimodal_eval.yml: short or ambiguous words with a
   screenshot, a statement or invoice, or a photo (bench/multimodal_material.py makes them).
   What the real perception service (EfficientNet-Lite0 labels, kind, Tesseract OCR) reads from
   each picture is cached in bench/data/multimodal_analyses.json; --refresh-analyses makes the
   pictures again (perception venv, Chromium) and asks the service anew.
2. Three real Rasa NLU models are trained (`rasa train nlu`, the pipeline of tests/config.yml, the
   same data/nlu/ training data): "text-only" (the PerceptionSentenceFeaturizer of before, no
   AttachmentAnalyzer), "concat" and "weighted" (AttachmentAnalyzer + FusionFeaturizer, the
   weights learned on the training data).
3. Each case goes through the model the way a channel message does: the picture is saved in an
   AttachmentStore with its cached analysis, and the message carries only its reference in
   metadata["attachments"]. Intent accuracy and macro-F1 are reported, by picture kind and for
   the turns with no words at all, plus the accuracy on the text-only turns of
   tests/test_stories.yml (fusion must not cost plain text anything).

Writes the section multimodal_ablation (bench/common.py: .json, .md, plot) into bench/results/<date>/;
prints the table. --quick trains with 10 epochs.
"""
from __future__ import annotations

import argparse
import asyncio
import copy
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from bench.common import arguments, figure, machine_line, results_dir, save, write_section
from bench.stack import Perception

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
EVAL_SET = DATA / "multimodal_eval.yml"
ANALYSES = DATA / "multimodal_analyses.json"
VENV_DIALOGUE = Path(os.environ.get("VENV_DIALOGUE", ROOT / ".venv" / "dialogue"))
VENV_PERCEPTION = Path(os.environ.get("VENV_PERCEPTION", ROOT / ".venv" / "perception"))
ANALYZER = "components.attachment_analyzer.AttachmentAnalyzer"
FUSION = "components.fusion_featurizer.FusionFeaturizer"
TEXT_FEATURIZER = "components.perception_featurizer.PerceptionSentenceFeaturizer"
VARIANTS = ("text-only", "concat", "weighted")
IMAGE_TOKEN = "[image]"


# ---------------------------------------------------------------- configs


def variant_config(variant: str, epochs: Optional[int]) -> Dict[str, Any]:
    """tests/config.yml's NLU pipeline with the dense featurizer of `variant`."""
    config = yaml.safe_load((ROOT / "tests" / "config.yml").read_text())
    config.pop("policies", None)
    pipeline = []
    for component in config["pipeline"]:
        component = copy.deepcopy(component)
        if component["name"] == ANALYZER and variant == "text-only":
            continue
        if component["name"] in (FUSION, TEXT_FEATURIZER):
            if variant == "text-only":
                component = {"name": TEXT_FEATURIZER, "timeout": component.get("timeout", 5.0)}
            else:
                component.update(name=FUSION, mode="concat" if variant == "concat" else "weighted",
                                 learn_weights=variant == "weighted")
        if component["name"] == "DIETClassifier" and epochs:
            component["epochs"] = epochs
        pipeline.append(component)
    if variant != "text-only" and not any(c["name"] == ANALYZER for c in pipeline):
        pipeline.insert(1, {"name": ANALYZER})
    config["pipeline"] = pipeline
    return config


# ---------------------------------------------------------------- perception


def refresh_analyses(url: str, names: List[str]) -> Dict[str, Any]:
    """Make the pictures (perception venv) and cache what the service reads from them."""
    from perception.client import PerceptionClient

    client = PerceptionClient(url, media_timeout=180)
    with tempfile.TemporaryDirectory(prefix="ablation-material-") as folder:
        subprocess.run([str(VENV_PERCEPTION / "bin" / "python"), str(ROOT / "bench" / "multimodal_material.py"),
                        folder, *names], check=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
        manifest = json.loads((Path(folder) / "manifest.json").read_text())
        health = client.health()["engines"]
        analyses: Dict[str, Any] = {}
        for name in sorted(manifest):
            analysis = client.analyze_image((Path(folder) / manifest[name]).read_bytes())
            analysis.pop("embedding", None)  # 1280 floats nobody downstream reads
            for line in (analysis.get("ocr") or {}).get("lines") or []:
                line.pop("box", None)
            analyses[name] = analysis
    return {"made": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "engines": {task: health[task].get("model") for task in ("image", "ocr")},
            "analyses": analyses}


# ---------------------------------------------------------------- training


def train(variant: str, config: Dict[str, Any], out: Path, perception_url: str) -> Tuple[Path, float]:
    config_path = out / f"{variant}.yml"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    env = dict(os.environ, PERCEPTION_URL=perception_url, RASA_TELEMETRY_ENABLED="false",
               PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="2")
    started = time.monotonic()
    result = subprocess.run(
        [str(VENV_DIALOGUE / "bin" / "rasa"), "train", "nlu", "--config", str(config_path),
         "--nlu", "data/nlu", "--out", str(out), "--fixed-model-name", variant],
        cwd=ROOT, env=env, capture_output=True, text=True)
    (out / f"{variant}-train.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        raise RuntimeError(f"training {variant} failed:\n{result.stderr[-3000:]}")
    return out / f"{variant}.tar.gz", time.monotonic() - started


def learned_weights(model: Path) -> Optional[Dict[str, Any]]:
    with tarfile.open(model) as archive:
        for member in archive.getmembers():
            if member.name.endswith("fusion.json"):
                return json.load(archive.extractfile(member))
    return None


# ---------------------------------------------------------------- evaluation


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (128, 128, 128)).save(out, format="PNG")
    return out.getvalue()


def story_turns() -> List[Tuple[str, str]]:
    """(text, intent) of the user turns in tests/test_stories.yml, entity markup removed."""
    stories = yaml.safe_load((ROOT / "tests" / "test_stories.yml").read_text())["stories"]
    turns = []
    for story in stories:
        for step in story.get("steps", []):
            if "user" in step and "intent" in step:
                text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", step["user"]).strip()
                turns.append((text, step["intent"]))
    return turns


async def predict(model: Path, messages: List[Tuple[str, Optional[Dict[str, Any]]]]
                  ) -> List[Tuple[Optional[str], Optional[str], float]]:
    """(intent, DIET's best intent ignoring the FallbackClassifier, seconds) per message."""
    from rasa.core.agent import Agent
    from rasa.core.channels.channel import UserMessage

    agent = Agent.load(str(model))
    await agent.processor.parse_message(UserMessage("hello"))  # warm-up: first calls build graphs
    results = []
    for text, metadata in messages:
        started = time.perf_counter()
        parsed = await agent.processor.parse_message(UserMessage(text, metadata=metadata))
        seconds = time.perf_counter() - started
        ranking = [item["name"] for item in parsed.get("intent_ranking") or [] if item["name"] != "nlu_fallback"]
        results.append(((parsed.get("intent") or {}).get("name"), ranking[0] if ranking else None, seconds))
    return results


def scores(gold: List[str], predicted: List[str]) -> Dict[str, float]:
    from sklearn.metrics import f1_score

    labels = sorted(set(gold))
    accuracy = sum(g == p for g, p in zip(gold, predicted)) / max(len(gold), 1)
    macro_f1 = f1_score(gold, predicted, labels=labels, average="macro", zero_division=0)
    return {"accuracy": round(accuracy, 4), "macro_f1": round(float(macro_f1), 4), "n": len(gold)}


def evaluate(models: Dict[str, Path], cases: List[Dict[str, Any]], analyses: Dict[str, Any]) -> Dict[str, Any]:
    from attachments.store import AttachmentStore

    with tempfile.TemporaryDirectory(prefix="ablation-attachments-") as folder:
        os.environ["ATTACHMENTS_DIR"] = folder  # the AttachmentAnalyzer's store, as in `rasa run`
        store = AttachmentStore(folder)
        messages = []
        for case in cases:
            ref = store.save(png(), "png")
            store.save_analysis(ref["id"], analyses[case["image"]])
            messages.append((case["text"], {"attachments": [ref]}))
        turns = story_turns()
        results: Dict[str, Any] = {}
        for variant, model in models.items():
            outcome = asyncio.run(predict(model, messages))
            outcome_turns = asyncio.run(predict(model, [(text, None) for text, _ in turns]))
            predicted = [intent for intent, _, _ in outcome]
            raw = [best for _, best, _ in outcome]
            gold = [case["intent"] for case in cases]
            kinds = [analyses[case["image"]]["kind"] for case in cases]
            no_words = [case["text"] == IMAGE_TOKEN for case in cases]
            results[variant] = {
                "all": scores(gold, predicted),
                "all_without_fallback": scores(gold, raw),
                **{kind: scores([g for g, k in zip(gold, kinds) if k == kind],
                                [p for p, k in zip(predicted, kinds) if k == kind])
                   for kind in ("screenshot", "document", "photo")},
                "image_only": scores([g for g, n in zip(gold, no_words) if n],
                                     [p for p, n in zip(predicted, no_words) if n]),
                "text_turns": scores([intent for _, intent in turns], [i for i, _, _ in outcome_turns]),
                # parse time in this process (the graph only; Rasa runs it on its event loop)
                "parse_ms": {"text_p50": _median_ms([s for _, _, s in outcome_turns]),
                             "picture_p50": _median_ms([s for _, _, s in outcome])},
                "predictions": [{"text": c["text"], "image": c["image"], "intent": c["intent"],
                                 "predicted": p, "without_fallback": r}
                                for c, p, r in zip(cases, predicted, raw)],
            }
    return results


def _median_ms(seconds: List[float]) -> float:
    ordered = sorted(seconds)
    return round(1000 * ordered[len(ordered) // 2], 1) if ordered else 0.0


def table(results: Dict[str, Any]) -> str:
    rows = ["| model | accuracy | macro-F1 | accuracy, no fallback | screenshots | documents | photos "
            "| picture only | text-only turns | parse ms text / picture |",
            "| --- | --: | --: | --: | --: | --: | --: | --: | --: | --: |"]
    for variant, result in results.items():
        rows.append(
            f"| {variant} | {result['all']['accuracy']:.3f} | {result['all']['macro_f1']:.3f} | "
            f"{result['all_without_fallback']['accuracy']:.3f} | "
            f"{result['screenshot']['accuracy']:.3f} | {result['document']['accuracy']:.3f} | "
            f"{result['photo']['accuracy']:.3f} | {result['image_only']['accuracy']:.3f} | "
            f"{result['text_turns']['accuracy']:.3f} | "
            f"{result['parse_ms']['text_p50']:.0f} / {result['parse_ms']['picture_p50']:.0f} |")
    return "\n".join(rows)


def quiet() -> None:
    """Rasa logs every parse at debug level in-process; keep warnings only."""
    import logging

    import structlog

    logging.basicConfig(level=logging.WARNING)
    for name in ("rasa", "tensorflow", "absl", "components"):
        logging.getLogger(name).setLevel(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epochs", type=int, default=None, help="DIET epochs (default: tests/config.yml's)")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--refresh-analyses", action="store_true",
                        help="make the pictures again and ask the perception service what they show")
    parser.add_argument("--models", type=Path, default=None,
                        help="folder for the trained models (default: a temporary one)")


def plot(results: Dict[str, Any], out: Path) -> str:
    fig, axes = figure(7, 3.5)
    groups = [("all", "all"), ("screenshot", "screenshots"), ("document", "documents"),
              ("photo", "photos"), ("image_only", "picture only"), ("text_turns", "text turns")]
    width = 0.8 / max(1, len(results))
    for index, (variant, result) in enumerate(results.items()):
        axes.bar([g + index * width for g in range(len(groups))],
                 [result[key]["accuracy"] for key, _ in groups], width, label=variant)
    axes.set_xticks([g + width * (len(results) - 1) / 2 for g in range(len(groups))])
    axes.set_xticklabels([label for _, label in groups])
    axes.set_ylabel("intent accuracy")
    axes.set_ylim(0, 1.05)
    axes.legend(loc="lower right")
    return save(fig, out, "multimodal_ablation-accuracy")


def main(argv: Optional[List[str]] = None) -> None:
    args = arguments(__doc__.splitlines()[0], argv, options)
    started = time.time()
    if args.quick and args.epochs is None:
        args.epochs = 10
    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    sys.path.insert(0, str(ROOT))
    quiet()

    cases = yaml.safe_load(EVAL_SET.read_text())["cases"]
    names = sorted({case["image"] for case in cases})
    out = results_dir(args.out)
    with Perception(("embed", "image", "ocr"), "ablation") as perception, tempfile.TemporaryDirectory(prefix="ablation-models-") as scratch:
        cached = json.loads(ANALYSES.read_text()) if ANALYSES.is_file() else {"analyses": {}}
        if args.refresh_analyses or set(names) - set(cached["analyses"]):
            print(f"analysing {len(names)} pictures with the perception service ...", flush=True)
            cached = refresh_analyses(perception.url, names)
            ANALYSES.write_text(json.dumps(cached, indent=1, ensure_ascii=False) + "\n")
        models_dir = args.models or Path(scratch)
        models_dir.mkdir(parents=True, exist_ok=True)
        models: Dict[str, Path] = {}
        timings: Dict[str, float] = {}
        weights = None
        for variant in args.variants.split(","):
            print(f"training {variant} ...", flush=True)
            models[variant], timings[variant] = train(variant, variant_config(variant, args.epochs),
                                                      models_dir, perception.url)
            if variant == "weighted":
                weights = learned_weights(models[variant])
        print("evaluating ...", flush=True)
        results = evaluate(models, cases, cached["analyses"])

    report = {
        "cases": len(cases), "intents": dict(Counter(case["intent"] for case in cases)),
        "kinds": dict(Counter(cached["analyses"][case["image"]]["kind"] for case in cases)),
        "engines": cached.get("engines"), "training_seconds": {k: round(v) for k, v in timings.items()},
        "epochs": args.epochs, "learned_weights": weights, "results": results,
        "config": {variant: variant_config(variant, args.epochs)["pipeline"] for variant in models},
    }
    text = table(results)
    if weights:
        text += (f"\n\nlearned weights: w_t = {weights.get('w_t')}, w_i = {weights.get('w_i')} "
                 f"(cross-validated nearest-centroid accuracy {weights.get('cv_accuracy')} on "
                 f"{weights.get('cv_examples')} training examples with a picture)")
    print(text)
    epochs = f"{args.epochs} DIET epochs" if args.epochs else "the epochs of tests/config.yml"
    markdown = (f"`bench/multimodal_ablation.py`: {len(cases)} short or ambiguous messages with a screenshot, "
                f"a statement or invoice, or a photo (bench/data/multimodal_eval.yml), through real Rasa NLU "
                f"models trained on data/nlu/ ({epochs}): text-only (no picture features), concat and weighted "
                f"fusion (docs/multimodal.md). Text-only turns are those of tests/test_stories.yml. Machine: "
                f"{machine_line()}.\n\n{text}\n\n{plot(results, out)}\n")
    write_section("multimodal_ablation", "Multimodal NLU: text-only vs fused picture features", report,
                  markdown, out, started)
    for variant, result in results.items():
        wrong = [p for p in result["predictions"] if p["predicted"] != p["intent"]]
        print(f"\n{variant}: {len(wrong)} wrong")
        for item in wrong:
            print(f"  {item['text']!r} + {item['image']}: {item['predicted']} "
                  f"({item['without_fallback']} without fallback; want {item['intent']})")


if __name__ == "__main__":
    main()
