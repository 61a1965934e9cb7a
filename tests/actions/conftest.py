"""Fixtures for calling the custom actions directly: a fresh record store seeded from the
reference pack, lexical retrieval (no perception service), a fixed clock and the real domain."""
import asyncio
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import shared
from knowledge.search import KnowledgeIndex

ROOT = Path(__file__).resolve().parents[2]
TODAY = date(2026, 11, 29)  # the reference pack's records are dated around this day
# a Tuesday 15:00 UTC = 10:00 in New York: agents are working
WORKING_HOURS = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
# a Sunday: agents are off
SUNDAY = datetime(2026, 11, 29, 15, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def knowledge(tmp_path, monkeypatch):
    """A temporary store (records and identity-check tries), the reference pack, lexical search
    and a fixed clock, per test."""
    monkeypatch.setenv("COMPANY_DIR", str(ROOT / "packs" / "brightwave"))
    monkeypatch.setenv("PARLEY_DB", str(tmp_path / "company.db"))
    monkeypatch.setenv("PARLEY_ATTEMPTS_DB", str(tmp_path / "attempts.db"))  # identity-check tries
    monkeypatch.delenv("PARLEY_REDIS_URL", raising=False)
    monkeypatch.setattr(shared, "today", lambda: TODAY)
    monkeypatch.setattr(shared, "now", lambda: WORKING_HOURS)
    shared.reset()
    shared._cache["index"] = KnowledgeIndex.from_pack(shared.pack(), client=None)
    yield shared
    shared.reset()


def make_tracker(
    text: str = "",
    intent: Optional[str] = None,
    slots: Optional[Dict[str, Any]] = None,
    entities: Optional[List[Dict[str, Any]]] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    active_loop: Optional[str] = None,
    sender_id: str = "test-conversation",
    metadata: Optional[Dict[str, Any]] = None,
) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9} if intent else {},
              "entities": entities or []}
    history = list(events or []) + [{"event": "user", "text": text, "parse_data": latest,
                                     "metadata": dict(metadata or {})}]
    return Tracker.from_dict({
        "sender_id": sender_id,
        "slots": dict(slots or {}),
        "latest_message": latest,
        "events": history,
        "paused": False,
        "followup_action": None,
        "active_loop": {"name": active_loop} if active_loop else {},
        "latest_action_name": "action_listen",
    })


def verified(order_id: str, email: str, **slots: Any) -> Dict[str, Any]:
    """Slots of a customer who has passed the identity check for an order."""
    return {"order_id": order_id, "email": email, "verified_order": order_id, **slots}


def run(action, tracker: Tracker, domain: Dict[str, Any]):
    """Run an action; returns (texts the bot said, response names it used, events)."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, domain))
    texts = [m.get("text") for m in dispatcher.messages if m.get("text")]
    responses = [m.get("response") for m in dispatcher.messages if m.get("response")]
    return texts, responses, events


def slot_events(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
