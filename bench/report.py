"""Joins the sections in a results folder into report.md and figures.json.

    python -m bench.report [DIR]                 # default: bench/results/<today>
    python -m bench.report DIR --publish         # also copy it to docs/benchmarks.md (+ plots)

Every section wrote <name>.json and <name>.md (bench/common.py); runs.json (bench/run.py) says
which section modules ran, how long each took and which failed. The report states the machine
and date once at the top and each section's own date and load average in the index, since
sections of one report may come from separate runs (the slow ones from `make bench-full`).
"""
import argparse
import json
import re
import shutil
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bench.common import ROOT, md_table, results_dir

ORDER = ["banking77", "nlu_cv", "multimodal_ablation", "speech", "speech_vocabulary", "tts", "ocr", "perception",
         "e2e", "voice", "trust", "load"]
DOCS = ROOT / "docs"


def sections(folder: Path) -> List[Dict[str, Any]]:
    found = {}
    for path in folder.glob("*.json"):
        if path.name in ("figures.json", "runs.json"):
            continue
        try:
            record = json.loads(path.read_text())
        except ValueError:
            continue
        if isinstance(record, dict) and "section" in record and (folder / f"{path.stem}.md").exists():
            record["markdown"] = (folder / f"{path.stem}.md").read_text()
            found[path.stem] = record
    rank = {name: index for index, name in enumerate(ORDER)}
    return [found[name] for name in sorted(found, key=lambda name: (rank.get(name, len(ORDER)), name))]


def write(folder: Path) -> Path:
    records = sections(folder)
    runs = json.loads((folder / "runs.json").read_text()) if (folder / "runs.json").exists() else None
    lines = ["# Parley benchmarks", ""]
    if records:
        info = records[0]["machine"]
        lines.append(f"Machine: {info['cores']} cores ({info['cpu']}), {info['memory_gb']} GB, no GPU. "
                     "Each section states its date and the load average while it ran; the index gives "
                     "the 1-minute load average when the section finished.")
    if runs:
        minutes = runs["seconds"] / 60
        lines.append(f"Last run: `python -m bench.run` in {runs['mode']} mode, {minutes:.1f} minutes in all.")
    lines.append("")
    rows = []
    for record in records:
        info = record["machine"]
        rows.append([f"[{record['title']}](#{anchor(record['title'])})", record["section"],
                     record["started"].replace("T", " ")[:16], info["load_average"][0],
                     "" if record.get("seconds") is None else f"{record['seconds'] / 60:.1f}"])
    if rows:
        lines += [md_table(["section", "file", "measured (UTC)", "load at the end", "minutes"], rows,
                           numeric=[False, False, False, True, True]), ""]
    failed = [run for run in (runs or {}).get("sections", []) if run["exit"] != 0]
    if failed:
        lines += ["**Failed in the last run** (their figures below, if any, are from an earlier run): "
                  + ", ".join(f"`{run['module']}` (exit {run['exit']}, log `{run['module']}.log`)" for run in failed),
                  ""]
    for record in records:
        lines += [record["markdown"].strip(), ""]
    path = folder / "report.md"
    path.write_text("\n".join(lines))
    figures = {record["section"]: {"title": record["title"], "machine": record["machine"],
                                   "started": record["started"], "seconds": record.get("seconds"),
                                   "figures": record["figures"]} for record in records}
    (folder / "figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    return path


def anchor(title: str) -> str:
    """GitHub's heading anchor."""
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def publish(folder: Path, docs: Path = DOCS) -> Path:
    """Copies report.md to docs/benchmarks.md (plots to docs/benchmarks/, links rewritten) and
    figures.json beside the plots, so the committed report is one reference run."""
    report = folder / "report.md"
    if not report.exists():
        write(folder)
    plots = docs / "benchmarks"
    if plots.exists():
        shutil.rmtree(plots)
    plots.mkdir(parents=True)
    for png in folder.glob("*.png"):
        shutil.copy2(png, plots / png.name)
    shutil.copy2(folder / "figures.json", plots / "figures.json")
    text = re.sub(r"\]\(([^)/]+\.png)\)", r"](benchmarks/\1)", report.read_text())
    target = docs / "benchmarks.md"
    target.write_text(text)
    return target


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=None)
    parser.add_argument("--publish", action="store_true", help="copy to docs/benchmarks.md and docs/benchmarks/")
    args = parser.parse_args(argv)
    folder = args.folder or results_dir()
    if not any(folder.glob("*.json")):
        print(f"no benchmark results in {folder}", file=sys.stderr)
        return 1
    print(write(folder))
    if args.publish:
        print(publish(folder))
    return 0


if __name__ == "__main__":
    sys.exit(main())
