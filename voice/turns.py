"""When a caller's turn is over: the silence that ends it, longer while the assistant waits for
an order number, an e-mail address or digits, so that a caller reading them out, with the pauses
people make between groups of digits, is not cut off half-way.

What is being asked comes from the tracker after each bot turn: the form's `requested_slot`
(identity_form: order_id, email, new_address; pay_form: email, phone_last4; see domain.yml).
"""
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Iterable, Optional

# slots whose answers are read out slowly: numbers, e-mail addresses, digits, street addresses
SLOW_SLOTS = frozenset({"order_id", "email", "phone_last4", "new_address", "digits"})


@dataclass(frozen=True)
class Asked:
    """What the assistant waits for after its last turn."""

    slot: Optional[str] = None          # the form's requested_slot, if a form is asking
    form: Optional[str] = None          # the active form (loop), if any


@dataclass(frozen=True)
class TurnPolicy:
    end_of_turn_ms: int = 700           # silence after speech that ends a turn
    slow_end_of_turn_ms: int = 1600     # the same while a SLOW_SLOTS slot is asked
    slow_slots: FrozenSet[str] = field(default_factory=lambda: SLOW_SLOTS)
    max_turn_ms: int = 30000            # a turn that long ends even without a pause

    def __post_init__(self) -> None:
        for name in ("end_of_turn_ms", "slow_end_of_turn_ms", "max_turn_ms"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"voice: {name} must be a whole number of milliseconds > 0")
        if self.slow_end_of_turn_ms < self.end_of_turn_ms:
            raise ValueError("voice: slow_end_of_turn_ms must not be shorter than end_of_turn_ms")

    @classmethod
    def from_options(cls, end_of_turn_ms: int = 700, slow_end_of_turn_ms: int = 1600,
                     slow_slots: Optional[Iterable[str]] = None, max_turn_ms: int = 30000) -> "TurnPolicy":
        slots = SLOW_SLOTS if slow_slots is None else frozenset(str(s) for s in slow_slots)
        return cls(end_of_turn_ms, slow_end_of_turn_ms, slots, max_turn_ms)

    def silence_ms(self, asked: Asked) -> int:
        """How long a pause ends the caller's turn, given what is being asked."""
        return self.slow_end_of_turn_ms if asked.slot in self.slow_slots else self.end_of_turn_ms


def asked_by(tracker: Any) -> Asked:
    """What the tracker (a DialogueStateTracker, or its dict form) says is being asked."""
    if tracker is None:
        return Asked()
    if isinstance(tracker, dict):
        slots: Dict[str, Any] = tracker.get("slots") or {}
        loop = (tracker.get("active_loop") or {}).get("name")
        slot = slots.get("requested_slot")
    else:
        slot = tracker.get_slot("requested_slot")
        loop = getattr(tracker, "active_loop_name", None)
    if not loop:  # a requested_slot left over after a form ended asks nothing
        return Asked()
    return Asked(slot if isinstance(slot, str) else None, loop)
