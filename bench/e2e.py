"""End to end through the real servers: turn latency and throughput by kind, peak memory per process.

Run with the dialogue venv from the repository root (section "e2e"):

    .venv/dialogue/bin/python -m bench.e2e [--quick] [--out DIR] [--model models/X.tar.gz]

Starts the perception service, the action server and `rasa run` (bench/stack.py: the tests'
way, tests/config.yml's model trained if needed, rate limits off for this instance), then with
the load generator of bench/load.py:

- text turns (REST channel), picture turns and voice-note turns (multimodal channel), each kind
  alone at 1 and at 8 concurrent customers (closed loop, no think time), 10 s a step (--quick
  6 s), in 3 rounds (--quick 2): every round runs each kind and concurrency once, so the rerun
  spread (bench.common.spread) of p50, p95 and throughput is across rounds that ran minutes
  apart;
- first, voice calls over /webhooks/voice/stream, one at a time: end of speech -> first audio
  byte by stage (bench/voice_latency.py's measurement), 4 calls a round (--quick 2);
- at the end, the peak resident memory (VmHWM) of Rasa, the action server and the perception
  service, and of each with its living children.
"""
from __future__ import annotations

import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bench import common, voice_latency
from bench.load import make_material, run_load, warm_up

KINDS = ("text", "image", "voice")
CONCURRENCY = (1, 8)
LABELS = {"text": "text (REST)", "image": "picture (multimodal)", "voice": "voice note (multimodal)"}


def measure(stack: Any, material: Any, rounds: int, step: float) -> Dict[str, List[Dict[str, Any]]]:
    runs: Dict[str, List[Dict[str, Any]]] = {f"{kind}@{users}": [] for kind in KINDS for users in CONCURRENCY}
    for number in range(rounds):
        for kind in KINDS:
            for users in CONCURRENCY:
                cpu_before, wall_before = stack.cpu(), time.perf_counter()
                result = run_load(stack.url, users, step, kind, material, label=f"e2e{number}-{kind}-{users}")
                wall = time.perf_counter() - wall_before
                cpu_after = stack.cpu()
                result["cpu_cores_used"] = {name: round((cpu_after[name] - cpu_before.get(name, 0)) / wall, 2)
                                            for name in cpu_after}
                runs[f"{kind}@{users}"].append(result)
                k = result["kinds"].get(kind, {})
                print(f"e2e round {number + 1}: {kind} x{users}: n={k.get('turns')} ok={k.get('ok')} "
                      f"p50={k.get('latency_s', {}).get('p50')} s", flush=True)
    return runs


def aggregate(runs: Dict[str, List[Dict[str, Any]]]) -> Dict[str, Any]:
    """Per kind@users: turns and errors summed, latency over all rounds' answered turns, and the
    spread of each round's p50, p95 (ms) and throughput."""
    figures = {}
    for key, results in runs.items():
        kind = key.split("@")[0]
        blocks = [r["kinds"].get(kind) for r in results if r["kinds"].get(kind)]
        errors: Dict[str, int] = {}
        for block in blocks:
            for name, count in block["errors"].items():
                errors[name] = errors.get(name, 0) + count
        turns = sum(b["turns"] for b in blocks)
        ok = sum(b["ok"] for b in blocks)
        figures[key] = {
            "kind": kind, "users": results[0]["users"] if results else None, "turns": turns, "ok": ok,
            "errors": errors, "error_rate": round(1 - ok / turns, 4) if turns else None,
            "latency_s": common.summary([s for b in blocks for s in b["ok_latencies_s"]]),
            "p50_ms": common.spread([1000 * b["latency_s"]["p50"] for b in blocks if b["latency_s"].get("n")], 1),
            "p95_ms": common.spread([1000 * b["latency_s"]["p95"] for b in blocks if b["latency_s"].get("n")], 1),
            "throughput_per_s": common.spread([b["throughput_per_s"] for b in blocks], 3),
            "cpu_cores_used": common.spread([sum(r.get("cpu_cores_used", {}).values()) for r in results], 2),
        }
    return figures


def plot(figures: Dict[str, Any], folder: Path) -> str:
    fig, axes = common.figure()
    width = 0.2
    for offset, (users, quantile, colour) in enumerate(((1, "p50", "tab:blue"), (1, "p95", "lightsteelblue"),
                                                       (8, "p50", "tab:orange"), (8, "p95", "navajowhite"))):
        values = [figures[f"{kind}@{users}"][f"{quantile}_ms"].get("median") or 0 for kind in KINDS]
        axes.bar([i + (offset - 1.5) * width for i in range(len(KINDS))], values, width,
                 color=colour, label=f"{quantile}, {users} concurrent")
    axes.set_xticks(range(len(KINDS)))
    axes.set_xticklabels([LABELS[kind] for kind in KINDS])
    axes.set_ylabel("turn latency (ms, median of rounds)")
    axes.set_title("End-to-end turn latency by kind")
    axes.grid(True, axis="y", alpha=0.3)
    axes.legend(fontsize=8)
    return common.save(fig, folder, "e2e-latency")


def degraded(figures: Dict[str, Any]) -> str:
    """What the answered-turn figures do not show: answers given without embeddings or with an
    apology instead of a custom action (counted in Rasa's log over the whole run)."""
    counts = figures.get("rasa_log")
    if counts is None:
        return ""
    text = (f"Counted in Rasa's log over the whole run: {counts['embedding_timeouts']} messages understood "
            f"without their sentence embedding (the perception service slower than the FusionFeaturizer's "
            f"5 s timeout, while Rasa's event loop, and so every conversation, waited) and "
            f"{counts['action_apologies']} custom actions replaced by an apology; such turns would count as "
            f"answered in the table.")
    apologies = sum(f["errors"].get("apology", 0) for f in figures["turns"].values())
    if apologies:
        text += (f" The {apologies} `apology` errors are voice notes or pictures the channel gave up on "
                 f"after its 20 s perception timeout (one Whisper worker, requests queued behind each "
                 f"other); the perception service still finishes them (nothing cancels them), so the steps "
                 f"that follow start with a busy perception service.")
    return text


def report(figures: Dict[str, Any], folder: Path, rounds: int, step: float) -> str:
    rows = []
    for kind in KINDS:
        for users in CONCURRENCY:
            f = figures["turns"][f"{kind}@{users}"]
            errors = ", ".join(f"{name} {count}" for name, count in sorted(f["errors"].items())) or "none"
            rows.append([LABELS[kind], users, f["turns"], f"{100 * (f['error_rate'] or 0):.1f}% ({errors})",
                         common.spread_text(f["p50_ms"], digits=0), common.spread_text(f["p95_ms"], digits=0),
                         common.spread_text(f["throughput_per_s"], digits=2),
                         f"{f['cpu_cores_used'].get('median', 0):.2f}"])
    turns_table = common.md_table(["turn", "concurrent", "turns", "errors", "p50 ms", "p95 ms", "turns/s",
                                   "cores used"], rows, [False, True, True, False, False, False, False, True])
    memory_rows = [[name, m.get("peak_mb"), m.get("rss_mb"), m.get("tree_peak_mb"), m.get("processes")]
                   for name, m in figures["memory"].items()]
    total = round(sum(m.get("tree_peak_mb") or 0 for m in figures["memory"].values()), 1)
    startup = ", ".join(f"{name} {seconds:g} s" for name, seconds in figures["startup_seconds"].items())
    return f"""
Measured on {common.machine_line(figures['machine_at_start'])}. {common.load_note(figures['machine_at_start'])}
Load average at the end: {figures['load_average_end']}; the servers ran at nice {figures['nice']}. "cores used": CPU seconds of the three processes (children included)
per wall second of the step, median of the rounds, out of 2 cores (per process in the JSON).

The section starts the real perception service, action server and `rasa run` (model
`{figures['model']}`, SQLite tracker store, rate limits off for this instance; start-up:
{startup}) and drives them with bench/load.py: each kind alone, 1 or 8 customers in a closed
loop without think time, {step:g} s a step, {rounds} rounds (each round runs every row once).
Latency is client-side, from the request to the whole answer, answered turns only (the
client runs on the same machine). Text turns:
`/webhooks/rest/webhook`; pictures (screenshots, statements, product photos) and voice notes
(espeak-ng WAV, Whisper) go to `/webhooks/multimodal/webhook`. Cells: median of the rounds'
figures (min–max, rounds).

{turns_table}

{degraded(figures)}

{plot(figures['turns'], folder)}

Voice calls (`/webhooks/voice/stream`, one at a time, before the turn steps above, after one
warm-up call; end of speech -> first audio byte by stage; {figures['voice']['spoken_turns']} of
{figures['voice']['calls']} calls spoken):

{voice_latency.table(figures['voice'])}

Peak memory after the run (VmHWM in MB; "with children": the sum of each living member's own
peak, an upper bound; short-lived children such as Tesseract runs are not in it):

{common.md_table(["process", "peak MB", "RSS now MB", "with children MB", "processes"], memory_rows)}

All three together: at most {total} MB.

Rerun: `.venv/dialogue/bin/python -m bench.e2e` (`--quick`: 2 rounds of 6 s steps).
"""


def options(parser: Any) -> None:
    parser.add_argument("--model", default=None, help="a trained model (default: tests/config.yml, trained if needed)")
    parser.add_argument("--step", type=float, default=None, help="seconds per step")


def main(argv: Optional[Sequence[str]] = None) -> None:
    from bench.stack import Stack
    import os

    args = common.arguments(__doc__.splitlines()[0], argv, options)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stops the services it started
    started = time.time()
    rounds = 2 if args.quick else 3
    step = args.step or (6.0 if args.quick else 10.0)
    voice_turns = 2 if args.quick else 4
    machine_before = common.machine()
    with tempfile.TemporaryDirectory(prefix="bench-e2e-") as scratch:
        material = make_material(Path(scratch))
        with Stack("bench-e2e", model=args.model) as stack:
            warm_up(stack.url, material)
            # the calls first, with nothing else running: the turn steps leave work behind (voice
            # notes the channel gave up on are still transcribed) that would land in their stages
            voice = voice_latency.figures_of(voice_latency.measure_rounds(stack.url, rounds, voice_turns, 1))
            runs = measure(stack, material, rounds, step)
            memory = stack.memory()
            figures = {"turns": aggregate(runs), "voice": voice, "memory": memory,
                       "rasa_log": stack.log_counts(),
                       "startup_seconds": stack.startup_seconds, "model": Path(stack.model).name,
                       "rounds": rounds, "step_seconds": step, "concurrency": list(CONCURRENCY),
                       "machine_at_start": machine_before,
                       "load_average_end": [round(x, 2) for x in os.getloadavg()], "nice": os.nice(0)}
    markdown = report(figures, common.results_dir(args.out), rounds, step)
    common.write_section("e2e", "End to end: turn latency, throughput and memory through the real servers",
                         figures, markdown, args.out, started)


if __name__ == "__main__":
    main()
