"""Choose the pack's trust thresholds and margins from its labelled calibration set.

    python -m knowledge.calibrate [--pack DIR] [--write]

Reads DIR/calibration.yml (default: the COMPANY_DIR pack), scores every input against the pack's
passages and error codes with the perception service's MiniLM embeddings (PERCEPTION_URL) and
with BM25, and picks per method (knowledge/trust.py):

- passages: the threshold and margin that answer the most answerable inputs right, where each
  wrong answer (an unanswerable input answered, or an answerable one answered with the wrong
  passage) costs WRONG_COST right ones; of the settings that score equally, the one in the
  middle of them.
  Then the lowest candidate score that offers candidates to at most MAX_PASSAGE_NOISE of the
  unanswerable inputs.
- error codes (never stated, only offered): the lowest candidate score that offers codes to at
  most MAX_CODE_NOISE of the inputs describing no code, and the smallest lead of the best
  code over the second under which offering the best code alone is always right.

Prints the figures; --write replaces pack.yml's `trust:` section with the values and figures.
Without the perception service only the lexical (BM25) values are chosen; the embedding values
already in pack.yml are kept.
"""
from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import yaml

from knowledge.pack import CompanyPack
from knowledge.search import KnowledgeIndex
from knowledge.trust import MAX_CANDIDATES, distinct_topics, error_passages, limits_for, without_company

WRONG_COST = 10  # a wrong answer stated with confidence costs as much as ten right ones lost
# share of the unanswerable inputs that may be offered candidates: FAQ questions offered as
# buttons are a clarifying question; a likely error code is more of a suggestion, so fewer
MAX_PASSAGE_NOISE = 0.25
MAX_CODE_NOISE = 0.05
GRID = np.round(np.arange(0.05, 0.95, 0.01), 2)
MARGINS = np.round(np.arange(0.0, 0.31, 0.01), 2)
METHODS = ("embedding", "lexical")


def ranked(index: KnowledgeIndex, text: str) -> List[Any]:
    return distinct_topics(index.search(text, k=len(index.passages)))


def is_right(passage_id: str, answers: Optional[Sequence[str]]) -> bool:
    return bool(answers) and any(passage_id == a or passage_id.startswith(a) for a in answers)


def middle(options: List[Tuple[float, float]]) -> Tuple[float, float]:
    """The option nearest the centre of equally good options."""
    centre = np.mean(np.asarray(options), axis=0)
    return min(options, key=lambda o: (float(np.sum((np.asarray(o) - centre) ** 2)), o))


def passage_rows(index: KnowledgeIndex, items: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    rows = []
    for item in items:
        hits = ranked(index, item["text"])
        answers = item.get("answer")
        rows.append({
            "answerable": bool(answers),
            "best": hits[0].score if hits else 0.0,
            "second": hits[1].score if len(hits) > 1 else 0.0,
            "right": bool(hits) and is_right(hits[0].passage.id, answers),
            "right_among": [is_right(h.passage.id, answers) for h in hits[:MAX_CANDIDATES]],
            "scores": [h.score for h in hits[:MAX_CANDIDATES]],
            "method": hits[0].method if hits else "",
        })
    return rows


def choose_passages(rows: List[Dict[str, Any]]) -> Dict[str, Any]:
    answerable = sum(r["answerable"] for r in rows)
    unanswerable = len(rows) - answerable
    scored: Dict[Tuple[float, float], Tuple[int, int]] = {}
    for t in GRID:
        for m in MARGINS:
            answered = [r for r in rows if r["best"] >= t and r["best"] - r["second"] >= m]
            wrong = sum(1 for r in answered if not (r["answerable"] and r["right"]))
            helpful = sum(1 for r in answered if r["answerable"] and r["right"])
            scored[(float(t), float(m))] = (wrong, helpful)
    best_value = max(h - WRONG_COST * w for w, h in scored.values())
    threshold, margin = middle([k for k, (w, h) in scored.items() if h - WRONG_COST * w == best_value])
    fewest_wrong, most_helpful = scored[(threshold, margin)]
    abstained = [r for r in rows if not (r["best"] >= threshold and r["best"] - r["second"] >= margin)]
    candidates = choose_floor([r for r in abstained if not r["answerable"]], unanswerable,
                              MAX_PASSAGE_NOISE)
    offered_right = sum(1 for r in abstained if r["answerable"] and any(
        right and score >= candidates for right, score in zip(r["right_among"], r["scores"])))
    return {
        "values": {"threshold": threshold, "margin": margin, "candidates": candidates},
        "figures": (f"{len(rows)} inputs ({answerable} answerable): {most_helpful} answered right, "
                    f"{fewest_wrong} answered wrong ({sum(1 for r in rows if not r['answerable'] and r['best'] >= threshold and r['best'] - r['second'] >= margin)} "
                    f"of {unanswerable} unanswerable answered); of the "
                    f"{sum(r['answerable'] for r in abstained)} answerable not answered, {offered_right} "
                    f"get the right passage among the candidates"),
    }


def choose_floor(unanswerable_rows: List[Dict[str, Any]], unanswerable: int, noise: float) -> float:
    """The lowest score at which at most `noise` of all unanswerable inputs are offered a
    candidate."""
    allowed = int(noise * unanswerable)
    for floor in GRID:
        if sum(1 for r in unanswerable_rows if r["best"] >= floor) <= allowed:
            return float(floor)
    return float(GRID[-1])


def code_rows(index: KnowledgeIndex, items: List[Dict[str, Any]], pack: CompanyPack) -> List[Dict[str, Any]]:
    rows = []
    for item in items:
        hits = ranked(index, without_company(item["text"], pack))
        code = item.get("code")
        rows.append({
            "answerable": bool(code),
            "best": hits[0].score if hits else 0.0,
            "second": hits[1].score if len(hits) > 1 else 0.0,
            "right": bool(hits) and hits[0].passage.title == code,
            "right_among": [h.passage.title == code for h in hits[:MAX_CANDIDATES]],
            "scores": [h.score for h in hits[:MAX_CANDIDATES]],
        })
    return rows


def choose_codes(rows: List[Dict[str, Any]]) -> Dict[str, Any]:
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    floor = choose_floor(unanswerable, len(unanswerable), MAX_CODE_NOISE)
    shown = [r for r in answerable if r["best"] >= floor]
    # the smallest lead under which the best code alone is always the right one
    single = float(MARGINS[-1])
    for m in MARGINS:
        alone = [r for r in shown if r["best"] - r["second"] >= m]
        if all(r["right"] for r in alone):
            single = float(m)
            break
    found = sum(1 for r in shown if any(
        right and score >= floor for right, score in zip(r["right_among"], r["scores"])))
    alone = [r for r in shown if r["best"] - r["second"] >= single]
    noise = sum(1 for r in unanswerable if r["best"] >= floor)
    return {
        "values": {"candidates": floor, "single_margin": single},
        "figures": (f"{len(rows)} inputs ({len(answerable)} describe a code): the right code offered "
                    f"for {found}, alone for {len(alone)}; codes offered for {noise} of "
                    f"{len(unanswerable)} that describe none; never stated"),
    }


def calibrate(pack: CompanyPack, data: Dict[str, Any], client: Any) -> Dict[str, Dict[str, Any]]:
    results: Dict[str, Dict[str, Any]] = {"passages": {}, "error_codes": {}}
    for method in METHODS:
        if method == "embedding" and client is None:
            continue
        use = client if method == "embedding" else None
        passages = KnowledgeIndex(pack.passages, client=use)
        codes = KnowledgeIndex(error_passages(pack), client=use)
        rows = passage_rows(passages, data.get("passages") or [])
        if method == "embedding" and rows and rows[0]["method"] != "embedding":
            raise SystemExit("the perception service stopped answering during calibration")
        results["passages"][method] = choose_passages(rows)
        results["error_codes"][method] = choose_codes(code_rows(codes, data.get("error_codes") or [], pack))
    return results


def trust_section(pack: CompanyPack, results: Dict[str, Dict[str, Any]], total: int) -> str:
    """pack.yml's `trust:` section: the chosen values (kept ones where a method was not
    calibrated) with the figures they gave."""
    lines = [
        "# When an answer found by similarity may be stated (knowledge/trust.py). Chosen by",
        f"# `python -m knowledge.calibrate --write` on calibration.yml ({total} labelled inputs), "
        f"{date.today().isoformat()}.",
        "# embedding: all-MiniLM-L6-v2 cosine (perception service); lexical: BM25 / best possible",
        "# score, used while the perception service is down.",
        "trust:",
    ]
    for kind in ("passages", "error_codes"):
        lines.append(f"  {kind}:")
        for method in METHODS:
            chosen = results[kind].get(method)
            values = chosen["values"] if chosen else limits_for(pack.settings, kind, method)
            figures = chosen["figures"] if chosen else "not recalibrated (service down): kept"
            lines.append(f"    # {method}: {figures}")
            body = ", ".join(f"{k}: {v:g}" for k, v in values.items())
            lines.append(f"    {method}: {{{body}}}")
    photos = pack.settings["trust"]["photos"]
    lines += [
        "  # photo categories: set by hand, not calibrated here (no labelled photos in calibration.yml)",
        f"  photos: {{min_category_score: {photos['min_category_score']:g}, "
        f"category_margin: {photos['category_margin']:g}}}",
    ]
    return "\n".join(lines) + "\n"


BEGIN = "# >>> trust (written by python -m knowledge.calibrate)"
END = "# <<< trust"


def write_section(path: Path, section: str) -> None:
    text = path.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{section}{END}\n"
    if BEGIN in text and END in text:
        text = re.sub(rf"{re.escape(BEGIN)}.*?{re.escape(END)}\n?", lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + block
    path.write_text(text, encoding="utf-8")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pack", type=Path, default=None, help="pack folder (default COMPANY_DIR)")
    parser.add_argument("--write", action="store_true", help="write the trust section to pack.yml")
    args = parser.parse_args(argv)
    pack = CompanyPack.load(args.pack)
    data = yaml.safe_load((pack.path / "calibration.yml").read_text(encoding="utf-8")) or {}
    client = None
    try:
        from perception.client import PerceptionClient, PerceptionError

        client = PerceptionClient(timeout=120.0)  # a busy machine: the passages are embedded at once
        client.embed(["health check"])
    except Exception as error:  # noqa: BLE001 - calibrate what can be calibrated
        print(f"perception service unavailable ({type(error).__name__}): lexical only", file=sys.stderr)
        client = None
    total = len(data.get("passages") or []) + len(data.get("error_codes") or [])
    results = calibrate(pack, data, client)
    section = trust_section(pack, results, total)
    print(section, end="")
    if args.write:
        write_section(pack.path / "pack.yml", section)
        print(f"written to {pack.path / 'pack.yml'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
