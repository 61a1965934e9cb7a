"""`rasa train` with a short, readable output: one line per stage with its time, then the total.

    .venv/dialogue/bin/python scripts/train_progress.py --config config.yml --model models/NAME.tar.gz --log var/NAME.train.log

Rasa runs in this process; everything it prints (logs, warnings, progress bars, TensorFlow) goes
to the log file, and stderr gets only these lines:

    training 1/4: data and config checked (14.2 s)
    training 2/4: NLU pipeline trained (4 min 10 s, DIETClassifier 3 min 58 s of it)
    training 3/4: dialogue policies trained (7 min 31 s, TEDPolicy 7 min 25 s of it)
    training 4/4: model packed (3.1 s)
    model trained in 11 min 59 s: models/NAME.tar.gz

The stages follow Rasa's training hooks (rasa.engine.training.hooks logs "Starting to train
component 'X'", "Finished training component 'X'" or "Restored component 'X' from cache"): a
component named among the config's policies belongs to the policies, any other to the NLU pipeline.
A Python warning in the log is counted on the last line; on failure the log's last lines follow.

Warnings that are not about anything wrong in our project are filtered by their message, through
Rasa's own list of expected warnings (rasa.utils.common.EXPECTED_WARNINGS, applied unless
--debug), so the same warning about something else still shows:
- deprecations raised inside Rasa's and TensorFlow's own imports (DEPRECATIONS);
- two checks of Rasa 3.6's validator that cannot see how this project uses its data: a response
  said by a custom action (dispatcher.utter_message(response=...)) or by a form (utter_ask_<slot>)
  is reported as "not used in any story or rule", and the same words under several intents are
  reported as a conflict although the picture in each example's metadata tells them apart
  (data/nlu/multimodal.yml). Only those responses and those texts are filtered.
"""
from __future__ import annotations

import argparse
import logging
import os
import re
import sys
import time
import traceback
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Set, TextIO, Tuple

ROOT = Path(__file__).resolve().parent.parent
STAGES = ("data and config checked", "NLU pipeline trained", "dialogue policies trained", "model packed")
# (category, start of the message): raised in Rasa's and its libraries' own code
DEPRECATIONS = [
    (DeprecationWarning, "pkg_resources is deprecated as an API"),  # rasa/shared/utils/validation.py
    (DeprecationWarning, r"Deprecated call to `pkg_resources\.declare_namespace"),  # ruamel, mpl_toolkits
    (DeprecationWarning, r"jax\.xla_computation is deprecated"),  # tensorflow/lite/python/util.py
    (DeprecationWarning, r"'\w+' deprecated - use '\w+'"),  # pyparsing 3.3 in matplotlib/fontconfig_pattern.py
]
HOOK = re.compile(r"(Starting to train|Finished training|Restored) component '(\w+)'")
WARNING_LINE = re.compile(r"^\S.*:\d+: \w*Warning: ", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # colours and cursor moves


def duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes} min {seconds} s"


def policy_names(config: Path) -> Set[str]:
    import yaml

    policies = (yaml.safe_load(config.read_text()) or {}).get("policies") or []
    return {str(p["name"]).rsplit(".", 1)[-1] for p in policies if isinstance(p, dict) and p.get("name")}


def responses_said_outside_stories(domain: Path, actions: Path) -> Set[str]:
    """Responses that forms ask with (utter_ask_<slot>, utter_ask_<form>_<slot>) or that our custom
    actions name in their code."""
    import yaml

    spec = yaml.safe_load(domain.read_text()) or {}
    names = set(spec.get("responses") or {})
    said = set()
    for form, form_spec in (spec.get("forms") or {}).items():
        for slot in (form_spec or {}).get("required_slots") or []:
            said |= {f"utter_ask_{slot}", f"utter_ask_{form}_{slot}"}
    code = "\n".join(p.read_text() for p in sorted(actions.glob("*.py")))
    said |= set(re.findall(r"\butter_\w+", code))
    return said & names


def texts_told_apart_by_pictures(data: Path) -> Set[str]:
    """Example texts that appear under more than one intent, each time with a picture described
    in the example's metadata."""
    from collections import defaultdict

    import rasa.shared.data
    from components.attachment_analyzer import described_attachments
    from rasa.shared.nlu.training_data.loading import load_data

    intents, with_picture = defaultdict(set), defaultdict(list)
    files = rasa.shared.data.get_data_files([str(data)], rasa.shared.data.is_nlu_file)
    for example in (e for f in sorted(files) for e in load_data(f).intent_examples):
        intents[example.get("text")].add(example.get("intent"))
        with_picture[example.get("text")].append(bool(described_attachments(example)))
    return {text for text, labels in intents.items() if len(labels) > 1 and all(with_picture[text])}


def validator_false_alarms(domain: Path, data: Path) -> List[Tuple[type, str]]:
    """(category, message regex) of the validator's warnings that do not apply to this project."""
    said = sorted(responses_said_outside_stories(domain, ROOT / "actions"))
    told_apart = sorted(texts_told_apart_by_pictures(data))
    return [(UserWarning, re.escape(f"The utterance '{name}' is not used in any story or rule.")) for name in said] + \
        [(UserWarning, re.escape(f"The example '{text}' was found labeled with multiple different intents"))
         for text in told_apart]


def expect_warnings(expected: List[Tuple[type, str]]) -> None:
    """Add to Rasa's expected warnings: filtered from now on, and again when Rasa's main sets its
    own warning filters (it puts them first)."""
    import warnings

    import rasa.utils.common

    rasa.utils.common.EXPECTED_WARNINGS.extend(expected)
    for category, message in rasa.utils.common.EXPECTED_WARNINGS:
        warnings.filterwarnings("ignore", message=f".*{message}", category=category)


class Progress(logging.Handler):
    """Turns the training hooks' log records into one line per stage."""

    def __init__(self, out: TextIO, policies: Set[str], started: float) -> None:
        super().__init__(logging.INFO)
        self.out = out
        self.policies = policies
        self.stage = 0
        self.stage_started = started
        self.starts: dict = {}
        self.longest: Tuple[str, float] = ("", 0.0)
        self.last_finished = started

    def emit(self, record: logging.LogRecord) -> None:
        found = HOOK.search(record.getMessage())
        if not found:
            return
        what, name = found.groups()
        now = time.monotonic()
        stage = 2 if name in self.policies else 1
        if stage > self.stage:  # stages only move forward
            self.finish(now)
            self.stage = stage
        if what == "Starting to train":
            self.starts[name] = now
            return
        self.last_finished = now
        if name in self.starts:
            took = now - self.starts.pop(name)
            if took > self.longest[1]:
                self.longest = (name, took)

    def finish(self, now: float) -> None:
        """Print the running stage's line and start the next."""
        took = now - self.stage_started
        detail = ""
        if self.longest[0] and self.longest[1] >= 0.5 * took and took >= 60:
            detail = f", {self.longest[0]} {duration(self.longest[1])} of it"
        self.out.write(f"training {self.stage + 1}/{len(STAGES)}: {STAGES[self.stage]} ({duration(took)}{detail})\n")
        self.out.flush()
        self.stage_started, self.longest = now, ("", 0.0)


def run_rasa(arguments: Sequence[str]) -> int:
    import rasa.__main__

    sys.argv = ["rasa", *arguments]
    try:
        rasa.__main__.main()
    except SystemExit as stop:
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except Exception:  # into the log, whose end is shown
        traceback.print_exc()
        return 1
    return 0


def tail(log: Path, lines: int = 30) -> str:
    """The log's last lines as a terminal shows them (a progress bar's last state, no colours)."""
    shown = [line.rstrip("\r").rsplit("\r", 1)[-1] for line in ANSI.sub("", log.read_text(errors="replace")).split("\n")]
    return "\n".join([line for line in shown if line.strip()][-lines:])


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True)
    parser.add_argument("--domain", type=Path, default=Path("domain.yml"))
    parser.add_argument("--data", type=Path, default=Path("data"))
    parser.add_argument("--model", type=Path, required=True, help="models/NAME.tar.gz")
    parser.add_argument("--log", type=Path, required=True)
    args = parser.parse_args(list(argv) if argv is not None else None)
    started = time.monotonic()
    policies = policy_names(args.config)

    args.log.parent.mkdir(parents=True, exist_ok=True)
    out = os.fdopen(os.dup(2), "w", buffering=1)
    with args.log.open("w") as log:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
    progress = Progress(out, policies, started)
    hooks = logging.getLogger("rasa.engine.training.hooks")
    hooks.setLevel(logging.INFO)  # its records drive the stages, whatever LOG_LEVEL says
    hooks.addHandler(progress)

    import rasa.__main__  # noqa: F401  (its imports set warning filters of their own: ours go after them)

    expect_warnings(DEPRECATIONS)
    expect_warnings(validator_false_alarms(args.domain, args.data))
    code = run_rasa(["train", "--config", str(args.config), "--domain", str(args.domain), "--data", str(args.data),
                     "--out", str(args.model.parent), "--fixed-model-name", args.model.name.removesuffix(".tar.gz")])
    sys.stdout.flush()
    sys.stderr.flush()
    if code != 0 or not args.model.is_file():
        out.write(f"training failed after {duration(time.monotonic() - started)} (exit {code}); "
                  f"the end of {args.log}:\n{tail(args.log)}\n")
        return code or 1
    progress.finish(progress.last_finished)  # the policies (the last component trained)
    progress.stage = len(STAGES) - 1
    progress.finish(time.monotonic())  # packing: the archive written after the last component
    warnings = len(WARNING_LINE.findall(ANSI.sub("", args.log.read_text(errors="replace"))))
    note = f"; {warnings} Python warning{'s' if warnings != 1 else ''} in {args.log}" if warnings else ""
    out.write(f"model trained in {duration(time.monotonic() - started)}: {args.model}{note}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
