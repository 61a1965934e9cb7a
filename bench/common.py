"""What every benchmark shares: where results go, which machine ran them, percentiles, rerun
spread, markdown tables, plots and the section files that `python -m bench.report` joins.

A benchmark section is a module `bench/<name>.py` run as `python -m bench.<name> [--quick]
[--full] [--out DIR]`. It measures, then calls `write_section(...)`, which writes into the results
folder (bench/results/<date>/ unless --out or BENCH_OUT says otherwise):

- `<name>.json`: {"section", "title", "machine", "started", "finished", "figures": {...}}; every
  number the section measured, machine-readable;
- `<name>.md`: the section's part of report.md (tables, plot links, what was measured and how);
- `<name>-*.png`: its plots (drawn with `figure()` / `save()`), linked from the markdown by bare
  file name, so the folder can be copied elsewhere (docs/benchmarks/) as a whole.

Works on both environments (Python 3.10 with Rasa, 3.11 with the models); only matplotlib is
imported lazily, because plotting is the last step.
"""
import argparse
import json
import math
import os
import platform
import socket
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]


def arguments(description: str, argv: Optional[Sequence[str]] = None,
              extra: Optional[Any] = None) -> argparse.Namespace:
    """The command line every section accepts; `extra(parser)` may add its own options."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="a short run (make bench QUICK=1)")
    parser.add_argument("--full", action="store_true", help="also the slow variants (make bench-full)")
    parser.add_argument("--out", type=Path, default=None, help="results folder (default bench/results/<date>)")
    if extra is not None:
        extra(parser)
    return parser.parse_args(argv)


def results_dir(out: Optional[Path] = None) -> Path:
    folder = out or (Path(os.environ["BENCH_OUT"]) if os.environ.get("BENCH_OUT")
                     else ROOT / "bench" / "results" / datetime.now().strftime("%Y-%m-%d"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def machine() -> Dict[str, Any]:
    """Cores, CPU model, memory and load: stated beside every figure."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "memory_gb": memory_gb,
        "gpu": None,
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }


def machine_line(info: Optional[Dict[str, Any]] = None) -> str:
    info = info or machine()
    return (f"{info['cores']} cores ({info['cpu']}), {info['memory_gb']} GB, no GPU; "
            f"{info['date']}; load average at start {info['load_average'][0]}")


def load_note(info: Dict[str, Any]) -> str:
    """Says whether other work shared the machine (load average at start against the cores)."""
    load, cores = info["load_average"][0], info.get("cores") or 1
    if load >= cores:
        return (f"**Other jobs shared the machine while this ran** (load average {load} at start on "
                f"{cores} cores): absolute figures are upper bounds and noisy.")
    return f"Little else ran on the machine (load average {load} at start on {cores} cores)."


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (share in 0..1) of a non-empty sequence."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
    return ordered[index]


def summary(values: Sequence[float], digits: int = 4) -> Dict[str, Any]:
    """n, p50, p95, mean, min and max of measured values (same unit as given)."""
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(percentile(values, 0.50), digits),
            "p95": round(percentile(values, 0.95), digits), "mean": round(statistics.fmean(values), digits),
            "min": round(min(values), digits), "max": round(max(values), digits)}


def spread(per_round: Sequence[float], digits: int = 4) -> Dict[str, Any]:
    """Rerun-to-rerun spread of one figure measured in several rounds: median, min, max and the
    relative range (max - min) / median."""
    if not per_round:
        return {"rounds": 0}
    middle = statistics.median(per_round)
    return {"rounds": len(per_round), "median": round(middle, digits), "min": round(min(per_round), digits),
            "max": round(max(per_round), digits),
            "relative_range": round((max(per_round) - min(per_round)) / middle, 3) if middle else None}


def spread_text(result: Dict[str, Any], unit: str = "", digits: int = 3) -> str:
    """'0.412 (0.398–0.440, 3 runs)' for a table cell."""
    if not result.get("rounds"):
        return "–"
    return (f"{result['median']:.{digits}f}{unit} ({result['min']:.{digits}f}–{result['max']:.{digits}f}, "
            f"{result['rounds']} runs)")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Optional[Sequence[bool]] = None) -> str:
    """A GitHub markdown table; numeric columns are right-aligned (default: guessed from row 1)."""
    rows = [["" if cell is None else str(cell) for cell in row] for row in rows]
    if numeric is None:
        first = rows[0] if rows else []
        numeric = [_looks_numeric(cell) for cell in first] + [False] * (len(headers) - len(first))
    lines = ["| " + " | ".join(headers) + " |",
             "| " + " | ".join("--:" if right else "---" for right in numeric) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _looks_numeric(cell: str) -> bool:
    try:
        float(cell.split(" ")[0].rstrip("%×x"))
        return True
    except ValueError:
        return False


def figure(width: float = 7.0, height: float = 4.0):
    """A matplotlib (figure, axes) pair on the Agg backend (no screen here)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(figsize=(width, height), dpi=110)
    return fig, axes


def save(fig: Any, folder: Path, name: str) -> str:
    """Saves a plot as <folder>/<name>.png and returns the markdown that shows it."""
    import matplotlib.pyplot as plt
    path = folder / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return f"![{name}]({path.name})"


def write_section(name: str, title: str, figures: Dict[str, Any], markdown: str,
                  out: Optional[Path] = None, started: Optional[float] = None) -> Path:
    """Writes <name>.json (every figure, with the machine) and <name>.md (its part of the report)."""
    folder = results_dir(out)
    now = time.time()
    record = {
        "section": name,
        "title": title,
        "machine": machine(),
        "started": datetime.fromtimestamp(started or now, timezone.utc).isoformat(timespec="seconds"),
        "finished": datetime.fromtimestamp(now, timezone.utc).isoformat(timespec="seconds"),
        "seconds": round(now - started, 1) if started else None,
        "figures": figures,
    }
    (folder / f"{name}.json").write_text(json.dumps(record, indent=2, sort_keys=False) + "\n")
    (folder / f"{name}.md").write_text(f"## {title}\n\n{markdown.strip()}\n")
    print(f"{name}: wrote {folder / (name + '.json')} and .md")
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mb(pid: int) -> Optional[float]:
    """Peak resident memory (VmHWM) of a running process, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None
