"""When an answer found by similarity may be given, and when the assistant should say it is unsure.

The limits come from pack.yml `trust:` (chosen by `python -m knowledge.calibrate` on the pack's
calibration.yml; knowledge/pack.py holds the defaults), one set per scoring method, because
MiniLM cosine similarities and normalised BM25 scores live on different scales:

- passages (FAQ, policies, company): answer only when the best passage scores at least
  `threshold` AND beats the best passage of another topic by at least `margin`; otherwise the
  passages scoring at least `candidates` are offered (or a question is asked).
- error_codes (a described symptom or a screen's text, without a code): a code is never stated
  as the customer's problem. Codes scoring at least `candidates` are offered as likely matches;
  when the best one leads the second by `single_margin`, it alone is offered.
- photos: the catalogue category of a photo is named only when its summed label score reaches
  `min_category_score` and leads the next category by `category_margin`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

MAX_CANDIDATES = 3


@dataclass(frozen=True)
class Decision:
    """What retrieval may do with one query: `answer` (a hit it may state) or `candidates`
    (likely matches to offer, best first), both empty when nothing is close."""
    answer: Any = None
    candidates: List[Any] = field(default_factory=list)
    method: str = ""
    best: float = 0.0
    second: float = 0.0


def topic(passage: Any) -> str:
    """Passages of one section ("policies:returns:1", ":2" ...) are one topic: a margin is
    measured against the best passage of another topic."""
    head, _, tail = str(passage.id).rpartition(":")
    return head if head and tail.isdigit() else str(passage.id)


def distinct_topics(hits: Iterable[Any]) -> List[Any]:
    """The best hit of each topic, in the order given (best first)."""
    seen, kept = set(), []
    for hit in hits:
        key = topic(hit.passage)
        if key not in seen:
            seen.add(key)
            kept.append(hit)
    return kept


def decide(hits: Sequence[Any], limits: Dict[str, float], may_answer: bool = True,
           max_candidates: int = MAX_CANDIDATES) -> Decision:
    """Apply `limits` ({threshold, margin, candidates} or {candidates, single_margin}) to hits
    sorted best first (all of one method)."""
    ranked = distinct_topics(hits)
    if not ranked:
        return Decision()
    best = ranked[0].score
    second = ranked[1].score if len(ranked) > 1 else 0.0
    method = ranked[0].method
    if may_answer and best >= limits["threshold"] and best - second >= limits["margin"]:
        return Decision(answer=ranked[0], candidates=[ranked[0]], method=method, best=best, second=second)
    floor = limits["candidates"]
    candidates = [hit for hit in ranked[:max_candidates] if hit.score >= floor]
    single = limits.get("single_margin")
    if candidates and single is not None and best - second >= single:
        candidates = candidates[:1]
    return Decision(candidates=candidates, method=method, best=best, second=second)


def limits_for(settings: Dict[str, Any], kind: str, method: str) -> Dict[str, float]:
    """The limits of `kind` ("passages", "error_codes") for `method` ("embedding", "lexical")."""
    values = ((settings.get("trust") or {}).get(kind) or {}).get(method) or {}
    return {key: float(value) for key, value in values.items()
            if isinstance(value, (int, float)) and not isinstance(value, bool)}


# ---------------------------------------------------------------- codes that are not ours

_OCR_DIGITS = str.maketrans({"O": "0", "Q": "0", "I": "1", "L": "1"})


def code_shapes(codes: Sequence[Any]) -> List[Tuple[str, re.Pattern]]:
    """(prefix, pattern) for anything shaped like one of the pack's codes: its prefix ("BW")
    then 2-5 letters/digits with a digit among the first three; an alias's letters ("E" of
    "E12") then digits after the word "error" (prefix "")."""
    patterns = []
    prefixes = sorted({c.code.partition("-")[0] for c in codes if "-" in c.code})
    for prefix in prefixes:
        patterns.append((prefix.upper(), re.compile(
            rf"(?<![A-Za-z0-9]){re.escape(prefix)}[\s_-]?(?=[A-Za-z]{{0,2}}\d)([A-Za-z0-9]{{2,5}})(?![A-Za-z0-9-])",
            re.IGNORECASE)))
    letters = sorted({re.match(r"[A-Za-z]*", a).group(0) for c in codes for a in c.aliases} - {""})
    for letter in letters:
        patterns.append(("", re.compile(rf"\berror\s+({re.escape(letter)}-?\d{{1,4}})\b", re.IGNORECASE)))
    return patterns


def unknown_codes(text: str, pack: Any) -> List[str]:
    """Error codes in `text` that are shaped like the pack's but are none of them ("BW-9931").
    Order numbers and OCR slips of a known code ("BW-RO1") are not unknown codes."""
    found: List[str] = []
    for prefix, pattern in code_shapes(pack.error_codes):
        for match in pattern.finditer(text or ""):
            body = match.group(1).upper()
            name = f"{prefix}-{body}" if prefix else body
            if pack.find_error_code(name) is not None or pack.is_order_id(name):
                continue
            if prefix and body.isdigit() and len(body) == 6:
                continue  # an order number's shape
            if prefix and pack.find_error_code(f"{prefix}-{body[:1]}{body[1:].translate(_OCR_DIGITS)}"):
                continue  # an OCR slip of a known code
            if name not in found:
                found.append(name)
    return found


# ---------------------------------------------------------------- the error codes as passages


def without_company(text: str, pack: Any) -> str:
    """`text` without the company's name: a screenshot's header ("Brightwave Electronics") and a
    code's "any Brightwave device" would otherwise look alike whatever the screen says."""
    for word in re.findall(r"[A-Za-z]{3,}", pack.name):
        text = re.sub(rf"\b{re.escape(word)}\b", " ", text or "", flags=re.IGNORECASE)
    return " ".join(text.split())


def error_passages(pack: Any) -> List[Any]:
    """The pack's error codes as retrievable passages (title = the code), to compare a described
    symptom or a screen's text with (`without_company` on both sides)."""
    from knowledge.pack import Passage

    return [Passage(id=f"error:{code.code}", source="error_codes", title=code.code,
                    text=without_company(f"{code.where}: {code.screen_text} {code.cause}", pack),
                    body=code.fix)
            for code in pack.error_codes]


# ---------------------------------------------------------------- photo categories


def category_lead(labels: Sequence[Dict[str, Any]], image_categories: Dict[str, Any],
                  category: str, category_score: float) -> float:
    """How far `category` (scored `category_score`) leads the next category, summing a photo's
    label scores per category as the AttachmentAnalyzer does with pack.yml `image_categories`."""
    mapping: Dict[str, str] = {}
    for name, classes in (image_categories or {}).items():
        for label in [classes] if isinstance(classes, str) else classes or []:
            mapping[str(label).strip().lower()] = str(name)
    totals: Dict[str, float] = {}
    for label in labels:
        found = mapping.get(str(label.get("label", "")).strip().lower())
        if found:
            totals[found] = totals.get(found, 0.0) + float(label.get("score") or 0.0)
    totals.pop(category, None)
    return category_score - max(totals.values(), default=0.0)


def photo_is_clear(category_score: float, lead: float, settings: Dict[str, Any]) -> bool:
    """A photo's category may be named: its score and its lead over the next category are high
    enough (pack.yml `trust: photos:`)."""
    photos = (settings.get("trust") or {}).get("photos") or {}
    return (category_score >= float(photos.get("min_category_score", 0.3))
            and lead >= float(photos.get("category_margin", 0.1)))
