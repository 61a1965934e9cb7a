"""A conversation as the review inbox shows it, built from the tracker's events (plain dicts,
as Rasa stores them in the `events` table's `data` column). Pure functions, no I/O."""
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

HANDOFF_ACTIONS = {"action_handoff", "action_unrecognized_charge"}
FALLBACK_ACTIONS = {"action_default_fallback", "action_fallback"}
FALLBACK_INTENT = "nlu_fallback"
TICKET = re.compile(r"\bTCK-[0-9A-Z]{4,}\b")
FEEDBACK_SLOT = "feedback"
QUIET_ACTIONS = {"action_listen", "action_session_start", "action_extract_slots"}


@dataclass
class BotMessage:
    index: int  # position among the conversation's bot events from 0 (the widget's bot_index)
    text: str
    buttons: List[Dict[str, Any]]
    timestamp: Optional[float]
    rating: Optional[str] = None  # "up" | "down", the latest thumb on this message


@dataclass
class UserTurn:
    index: int  # position among the conversation's user events from 0
    session: int
    timestamp: Optional[float]
    text: str
    channel: Optional[str]
    intent: Optional[str]
    confidence: Optional[float]
    ranking: List[Dict[str, Any]]
    entities: List[Dict[str, Any]]  # entities with offsets into `text`
    picture_entities: List[Dict[str, Any]]  # read from an attachment (no offsets)
    attachments: List[Dict[str, Any]]  # refs from the channel, with the analyzer's summary
    voice: Optional[Dict[str, Any]]
    after: List[Dict[str, Any]] = field(default_factory=list)  # story steps that followed
    replies: List[BotMessage] = field(default_factory=list)

    @property
    def is_button(self) -> bool:
        return self.text.startswith("/")

    @property
    def annotatable(self) -> bool:
        return not self.is_button and (bool(self.text.strip()) or self.voice is not None)

    @property
    def has_picture(self) -> bool:
        return any(a.get("kind") == "image" for a in self.attachments)


@dataclass
class Conversation:
    sender_id: str
    turns: List[UserTurn] = field(default_factory=list)
    opening: List[BotMessage] = field(default_factory=list)  # bot messages before any user turn
    handoff: bool = False
    fallback: bool = False
    first: Optional[float] = None
    last: Optional[float] = None
    bot_count: int = 0
    ratings: Dict[int, str] = field(default_factory=dict)
    session: int = 0

    # ------------------------------------------------------------ summary

    @property
    def channels(self) -> List[str]:
        return sorted({t.channel for t in self.turns if t.channel})

    @property
    def thumbs_down(self) -> bool:
        return "down" in self.ratings.values()

    @property
    def thumbs_up(self) -> bool:
        return "up" in self.ratings.values()

    @property
    def has_attachments(self) -> bool:
        return any(t.attachments for t in self.turns)

    @property
    def has_voice(self) -> bool:
        return any(t.voice for t in self.turns)

    @property
    def lowest_confidence(self) -> Optional[float]:
        values = [t.confidence for t in self.turns if t.confidence is not None and not t.is_button]
        return min(values) if values else None

    def add(self, event: Dict[str, Any]) -> None:
        """Take the next event of this conversation (in the order they were stored)."""
        kind = event.get("event")
        stamp = event.get("timestamp")
        if isinstance(stamp, (int, float)):
            self.first = stamp if self.first is None else min(self.first, stamp)
            self.last = stamp if self.last is None else max(self.last, stamp)
        if kind == "user":
            self._user(event)
        elif kind == "bot":
            message = BotMessage(self.bot_count, str(event.get("text") or ""),
                                 list((event.get("data") or {}).get("buttons") or []), stamp,
                                 self.ratings.get(self.bot_count))
            self.bot_count += 1
            if TICKET.search(message.text):
                self.handoff = True
            (self.turns[-1].replies if self.turns else self.opening).append(message)
        elif kind == "action":
            name = str(event.get("name") or "")
            self.handoff = self.handoff or name in HANDOFF_ACTIONS
            self.fallback = self.fallback or name in FALLBACK_ACTIONS
            if self.turns and name not in QUIET_ACTIONS:
                self.turns[-1].after.append({"action": name})
        elif kind == "slot":
            name = event.get("name")
            value = event.get("value")
            if name == FEEDBACK_SLOT:
                self._feedback(value)
            elif self.turns and name:
                self.turns[-1].after.append({"slot_was_set": [{name: value}]})
        elif kind == "active_loop":
            if self.turns:
                self.turns[-1].after.append({"active_loop": event.get("name")})
        elif kind == "session_started":
            self.session += 1

    def _feedback(self, value: Any) -> None:
        if not isinstance(value, dict) or value.get("rating") not in ("up", "down"):
            return
        index = value.get("bot_index")
        if not isinstance(index, int) or isinstance(index, bool):
            return
        self.ratings[index] = value["rating"]
        for message in self.opening + [m for t in self.turns for m in t.replies]:
            if message.index == index:
                message.rating = value["rating"]

    def _user(self, event: Dict[str, Any]) -> None:
        parse = event.get("parse_data") or {}
        intent = parse.get("intent") or {}
        text = str(event.get("text") or "")
        metadata = event.get("metadata") or {}
        summaries = {s.get("id"): s for s in parse.get("attachments") or [] if isinstance(s, dict)}
        attachments = []
        for ref in metadata.get("attachments") or []:
            if isinstance(ref, dict) and ref.get("id"):
                item = dict(ref)
                item["summary"] = summaries.get(ref["id"])
                attachments.append(item)
        entities, pictures = [], []
        for entity in parse.get("entities") or []:
            if not isinstance(entity, dict) or not entity.get("entity"):
                continue
            start, end = entity.get("start"), entity.get("end")
            if entity.get("source") != "attachment" and isinstance(start, int) and isinstance(end, int) \
                    and 0 <= start < end <= len(text):
                entities.append({"entity": entity["entity"], "start": start, "end": end,
                                 "value": entity.get("value"), "extractor": entity.get("extractor")})
            else:
                pictures.append({"entity": entity["entity"], "value": entity.get("value")})
        voice = metadata.get("voice") if isinstance(metadata.get("voice"), dict) else None
        confidence = intent.get("confidence")
        turn = UserTurn(len(self.turns), self.session, event.get("timestamp"), text,
                        event.get("input_channel"), intent.get("name"),
                        float(confidence) if isinstance(confidence, (int, float)) else None,
                        [r for r in parse.get("intent_ranking") or [] if isinstance(r, dict)][:5],
                        _dedupe(entities), pictures, attachments, voice)
        if turn.intent == FALLBACK_INTENT:
            self.fallback = True
        self.turns.append(turn)

    def usefulness(self, threshold: float) -> float:
        """How much a reviewer learns from this conversation: thumbs down, fallbacks, handoffs,
        low confidence and pictures first."""
        score = 0.0
        if self.thumbs_down:
            score += 4
        if self.fallback:
            score += 3
        if self.handoff:
            score += 2
        low = self.lowest_confidence
        if low is not None and low < threshold:
            score += 2 * (threshold - low) / threshold
        if self.has_attachments:
            score += 0.5
        return score


def _dedupe(entities: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One entity per span (DIET and the regex extractor often both find it)."""
    kept: List[Dict[str, Any]] = []
    for entity in sorted(entities, key=lambda e: (e["start"], -(e["end"] - e["start"]))):
        if any(k["start"] < entity["end"] and entity["start"] < k["end"] for k in kept):
            continue
        kept.append(entity)
    return kept


def build(sender_id: str, events: Sequence[Dict[str, Any]]) -> Conversation:
    conversation = Conversation(sender_id)
    for event in events:
        conversation.add(event)
    return conversation


@dataclass
class Filters:
    confidence_below: Optional[float] = None
    fallback: bool = False
    handoff: bool = False
    thumbs_down: bool = False
    attachments: bool = False
    voice: bool = False
    channel: Optional[str] = None
    since: Optional[float] = None  # a customer wrote in [since, until) (UTC seconds)
    until: Optional[float] = None

    def keep(self, conversation: Conversation) -> bool:
        if not conversation.turns:
            return False
        if self.confidence_below is not None:
            low = conversation.lowest_confidence
            if low is None or low >= self.confidence_below:
                return False
        if self.fallback and not conversation.fallback:
            return False
        if self.handoff and not conversation.handoff:
            return False
        if self.thumbs_down and not conversation.thumbs_down:
            return False
        if self.attachments and not conversation.has_attachments:
            return False
        if self.voice and not conversation.has_voice:
            return False
        if self.channel and self.channel not in conversation.channels:
            return False
        if self.since is not None or self.until is not None:
            low = self.since if self.since is not None else float("-inf")
            high = self.until if self.until is not None else float("inf")
            if not any(isinstance(t.timestamp, (int, float)) and low <= t.timestamp < high
                       for t in conversation.turns):
                return False
        return True


def select(conversations: Sequence[Conversation], filters: Filters, threshold: float,
           reviewed: Optional[Dict[str, int]] = None) -> List[Conversation]:
    """The conversations `filters` keeps, most useful to review first: not yet reviewed before
    reviewed, then by usefulness, then the most recent."""
    reviewed = reviewed or {}
    kept = [c for c in conversations if filters.keep(c)]
    return sorted(kept, key=lambda c: (reviewed.get(c.sender_id, 0) >= len(c.turns),
                                       -c.usefulness(threshold), -(c.last or 0)))
