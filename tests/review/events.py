"""Tracker events as Rasa's SQL tracker store keeps them, for the review inbox's unit tests."""
import json
import sqlite3
from pathlib import Path
from typing import Any, Dict, List, Optional

SCHEMA = ("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, sender_id VARCHAR(255) NOT NULL, "
          "type_name VARCHAR(255) NOT NULL, timestamp FLOAT, intent_name VARCHAR(255), "
          "action_name VARCHAR(255), data TEXT)")
T0 = 1_764_000_000.0  # 2025-11-24


def user(text: str, intent: str, confidence: float, entities=(), channel: str = "rest",
         metadata: Optional[Dict[str, Any]] = None, attachments=None, ts: float = T0) -> Dict[str, Any]:
    parse = {"text": text, "intent": {"name": intent, "confidence": confidence},
             "intent_ranking": [{"name": intent, "confidence": confidence}], "entities": list(entities)}
    if attachments is not None:
        parse["attachments"] = attachments
    return {"event": "user", "timestamp": ts, "text": text, "parse_data": parse,
            "input_channel": channel, "metadata": metadata or {}}


def bot(text: str, ts: float = T0) -> Dict[str, Any]:
    return {"event": "bot", "timestamp": ts, "text": text, "data": {}, "metadata": {}}


def action(name: str, ts: float = T0) -> Dict[str, Any]:
    return {"event": "action", "timestamp": ts, "name": name}


def slot(name: str, value: Any, ts: float = T0) -> Dict[str, Any]:
    return {"event": "slot", "timestamp": ts, "name": name, "value": value}


def session(ts: float = T0) -> List[Dict[str, Any]]:
    return [action("action_session_start", ts), {"event": "session_started", "timestamp": ts},
            action("action_listen", ts)]


def write(db: Path, conversations: Dict[str, List[Dict[str, Any]]]) -> Path:
    with sqlite3.connect(db) as connection:
        connection.execute(SCHEMA)
        for sender, events in conversations.items():
            for event in events:
                intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
                connection.execute(
                    "INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (sender, event["event"], event.get("timestamp"), intent, event.get("name")
                     if event["event"] == "action" else None, json.dumps(event)))
    return db


def sample() -> Dict[str, List[Dict[str, Any]]]:
    """Five conversations, each with one reason to review it (or none)."""
    day = 86400
    return {
        "calm": session(T0) + [user("hello", "greet", 0.99, ts=T0 + 1), bot("Hi!", T0 + 2)],
        "unsure": session(T0 + day) + [
            user("my thing is weird", "device_problem", 0.31, channel="webchat", ts=T0 + day),
            bot("Which device?", T0 + day)],
        "fallback": session(T0 + 2 * day) + [
            user("blorp", "nlu_fallback", 0.45, ts=T0 + 2 * day), action("action_fallback"),
            bot("Sorry, I didn't get that.")],
        "handoff": session(T0 + 3 * day) + [
            user("I want a human, I am Ben Okafor", "human_handoff", 0.97, channel="slack", ts=T0 + 3 * day),
            action("action_handoff"), bot("I've passed our conversation to an agent (ticket TCK-A1B2C3).")],
        "angry": session(T0 + 4 * day) + [
            user("where is BW-318904", "order_status", 0.92, channel="webchat", ts=T0 + 4 * day,
                 entities=[{"entity": "order_id", "start": 9, "end": 18, "value": "BW-318904"}]),
            bot("Please tell me the e-mail on the order."),
            slot("feedback", {"rating": "down", "bot_index": 0, "bot_text": "Please tell me..."})],
        "picture": session(T0 + 5 * day) + [
            user("what does this mean?", "login_problem", 0.88, channel="multimodal", ts=T0 + 5 * day,
                 metadata={"attachments": [{"id": "att_" + "a" * 32, "kind": "image", "mime": "image/png"}]},
                 attachments=[{"id": "att_" + "a" * 32, "kind": "image", "image_kind": "screenshot",
                               "labels": [{"label": "web site", "score": 0.7}],
                               "text": "Sign-in locked (BW-2002) ana.lopez@example.com"}]),
            bot("I can see error BW-2002.")],
        "spoken": session(T0 + 6 * day) + [
            user("My Router is read", "device_problem", 0.7, channel="voice", ts=T0 + 6 * day,
                 metadata={"voice": {"transcript": "My Router is read", "language": "en"}},
                 entities=[{"entity": "product", "start": 3, "end": 9, "value": "Router"}]),
            bot("Which router?")],
    }
