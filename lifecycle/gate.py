"""The promotion gate: the candidate's numbers beside the current model's, and the decision."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

GATE_METRIC = "weighted_f1"   # intent F1 (weighted by support) on the held-out split


@dataclass
class Metrics:
    accuracy: float
    macro_f1: float
    weighted_f1: float
    stories_total: int
    stories_failed: int
    failed_stories: List[str] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Metrics":
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass
class Decision:
    promote: bool
    reasons: List[str]


def decide(candidate: Metrics, current: Optional[Metrics], tolerance: float) -> Decision:
    """Promote only when no test story fails and intent F1 drops by at most `tolerance`
    (no current model: the bootstrap, only the stories count)."""
    reasons = []
    if candidate.stories_total == 0:
        reasons.append("no test stories were run")
    if candidate.stories_failed:
        reasons.append(f"{candidate.stories_failed} of {candidate.stories_total} test stories fail")
    if current is not None:
        drop = getattr(current, GATE_METRIC) - getattr(candidate, GATE_METRIC)
        if drop > tolerance + 1e-9:
            reasons.append(f"intent F1 drops by {drop:.4f} (tolerance {tolerance:.4f})")
    return Decision(promote=not reasons, reasons=reasons)


def comparison(candidate: Metrics, current: Optional[Metrics], decision: Decision) -> str:
    """The table printed by `retrain`."""
    rows = [("intent accuracy", "accuracy"), ("intent macro F1", "macro_f1"),
            ("intent weighted F1 (gate)", "weighted_f1")]
    lines = [f"{'':28}{'current':>10}{'candidate':>11}{'change':>9}"]
    for label, name in rows:
        new = getattr(candidate, name)
        if current is None:
            lines.append(f"{label:28}{'-':>10}{new:>11.4f}{'':>9}")
        else:
            old = getattr(current, name)
            lines.append(f"{label:28}{old:>10.4f}{new:>11.4f}{new - old:>+9.4f}")
    old_stories = "-" if current is None else f"{current.stories_failed}/{current.stories_total}"
    lines.append(f"{'failed test stories':28}{old_stories:>10}"
                 f"{f'{candidate.stories_failed}/{candidate.stories_total}':>11}")
    for name in candidate.failed_stories:
        lines.append(f"  failed: {name}")
    verdict = "PROMOTE" if decision.promote else "REFUSED: " + "; ".join(decision.reasons)
    lines.append(f"decision: {verdict}")
    return "\n".join(lines)
