"""`make bench` / `make bench-full`: runs every benchmark section, then writes the report.

    python -m bench.run [--quick] [--full] [--only NAME,NAME] [--out DIR]

Each section is its own process in the environment it needs (Rasa's on Python 3.10, the models'
on 3.11), so one failing or crashing section is recorded in the report and the others still run.
Sections run one after another: they measure speed, and two at once would measure each other.
The results folder (bench/results/<date>/ by default) then holds every section's .json, .md and
plots, plus report.md and figures.json from bench.report.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from bench import report
from bench.common import ROOT, results_dir

DIALOGUE = ".venv/dialogue/bin/python"
PERCEPTION = ".venv/perception/bin/python"

# (section module, environment, only with --full), in report order. A module may write more
# than one section (bench.speech: speech and tts). The multimodal ablation (issue 4's fusion
# question, three Rasa models) runs with --full or --only, to keep `make bench` under 45 minutes.
SECTIONS: List[Tuple[str, str, bool]] = [
    ("banking77", DIALOGUE, False),
    ("nlu_cv", DIALOGUE, False),
    ("multimodal_ablation", DIALOGUE, True),
    ("speech", PERCEPTION, False),
    ("ocr", PERCEPTION, False),
    ("perception", PERCEPTION, False),
    ("e2e", DIALOGUE, False),
    ("trust", DIALOGUE, False),
    ("load", DIALOGUE, False),
]


def run_section(module: str, python: str, args: argparse.Namespace, out: Path) -> Dict[str, object]:
    command = [str(ROOT / python), "-m", f"bench.{module}", "--out", str(out)]
    command += ["--quick"] if args.quick else []
    command += ["--full"] if args.full else []
    log = out / f"{module}.log"
    print(f"== {module}: {' '.join(command[1:])} (log: {log})", flush=True)
    started = time.perf_counter()
    with log.open("wb") as handle:
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   env=dict(os.environ, PYTHONPATH=str(ROOT), RASA_TELEMETRY_ENABLED="false"))
        assert process.stdout is not None
        for line in process.stdout:  # shown live and kept
            sys.stdout.buffer.write(line)
            sys.stdout.flush()
            handle.write(line)
        code = process.wait()
    seconds = round(time.perf_counter() - started, 1)
    print(f"== {module}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {seconds} s", flush=True)
    return {"module": module, "exit": code, "seconds": seconds}


def chosen(wanted: Sequence[str], full: bool) -> List[Tuple[str, str]]:
    """(module, environment) to run: the named ones, else every section but the --full-only ones."""
    return [(module, python) for module, python, full_only in SECTIONS
            if (module in wanted if wanted else full or not full_only)]


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short runs of every section (under 10 minutes)")
    parser.add_argument("--full", action="store_true", help="also the slow variants (hours)")
    parser.add_argument("--only", default="", help="comma-separated section modules to run")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = results_dir(args.out)
    wanted = [name for name in args.only.split(",") if name]
    unknown = set(wanted) - {module for module, _, _ in SECTIONS}
    if unknown:
        parser.error(f"unknown section(s): {', '.join(sorted(unknown))}")
    started = time.perf_counter()
    runs = [run_section(module, python, args, out) for module, python in chosen(wanted, args.full)]
    mode = "quick" if args.quick else "full" if args.full else "normal"
    (out / "runs.json").write_text(json.dumps({
        "mode": mode, "seconds": round(time.perf_counter() - started, 1), "sections": runs}, indent=2) + "\n")
    path = report.write(out)
    print(f"report: {path}")
    failed = [run["module"] for run in runs if run["exit"] != 0]
    if failed:
        print(f"failed sections: {', '.join(failed)} (their logs are in {out})", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
