"""Evaluate one model with Rasa's own evaluation, in a process of its own (TensorFlow's memory goes
with it): intent classification on the held-out NLU file (rasa.nlu.test, intent_report.json) and
the test stories (rasa.core.test, as `rasa test core` does: story_report.json and
failed_test_stories.yml). Writes <out>/metrics.json (lifecycle.gate.Metrics).

    python -m lifecycle.evaluate --model M.tar.gz --stories DIR --nlu heldout.yml --domain domain.yml --out DIR
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import warnings
from pathlib import Path
from typing import List

from lifecycle.gate import Metrics


def failed_story_names(path: Path) -> List[str]:
    import yaml

    if not path.exists():
        return []
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return [str(s.get("story", "?")) for s in document.get("stories", []) or [] if isinstance(s, dict)]


def read_metrics(out: Path) -> Metrics:
    intents = json.loads((out / "nlu" / "intent_report.json").read_text())
    stories = json.loads((out / "core" / "story_report.json").read_text())
    conversations = stories.get("conversation_accuracy", {"correct": 0, "total": 0})
    failed = failed_story_names(out / "core" / "failed_test_stories.yml")
    total = int(conversations.get("total", 0))
    return Metrics(accuracy=float(intents["accuracy"]), macro_f1=float(intents["macro avg"]["f1-score"]),
                   weighted_f1=float(intents["weighted avg"]["f1-score"]), stories_total=total,
                   stories_failed=max(len(failed), total - int(conversations.get("correct", 0))),
                   failed_stories=failed)


async def evaluate(model: str, stories: str, nlu: str, domain: str, out: Path) -> Metrics:
    from rasa.core.agent import Agent
    from rasa.core.test import test as core_test
    from rasa.nlu.test import run_evaluation

    agent = Agent.load(model_path=model)
    await core_test(stories, agent, out_directory=str(out / "core"), disable_plotting=True,
                    errors=True, warnings=False)
    await run_evaluation(nlu, agent.processor, output_directory=str(out / "nlu"),
                         disable_plotting=True, report_as_dict=True, domain_path=domain)
    return read_metrics(out)


def main(argv=None) -> int:
    warnings.filterwarnings("ignore")
    parser = argparse.ArgumentParser(prog="python -m lifecycle.evaluate")
    for name in ("--model", "--stories", "--nlu", "--domain", "--out"):
        parser.add_argument(name, required=True)
    args = parser.parse_args(argv)
    out = Path(args.out)
    (out / "core").mkdir(parents=True, exist_ok=True)
    metrics = asyncio.run(evaluate(args.model, args.stories, args.nlu, args.domain, out))
    (out / "metrics.json").write_text(json.dumps(metrics.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
