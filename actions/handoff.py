"""Handoff to a human agent: a ticket carrying the conversation, then when an agent will answer."""
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import shared

SUMMARIES = {
    "human_handoff": "Customer asked to talk to an agent",
    "unrecognized_charge": "Unrecognised charge reported (possible fraud)",
    "order_status": "Help with an order's status",
    "cancel_order": "Help cancelling an order",
    "change_address": "Help changing a delivery address",
    "return_item": "Help with a return",
    "refund_status": "Question about a refund",
    "missing_parcel": "Parcel marked delivered but not found",
    "damaged_item": "Damaged or defective item",
    "warranty": "Warranty question",
    "device_problem": "Device problem not solved",
    "login_problem": "Sign-in problem not solved",
    "payment_problem": "Payment problem not solved",
    "pay_account": "Question about the wallet account",
    "faq": "Question the assistant could not answer",
}


def transcript(tracker: Tracker) -> List[Dict[str, Any]]:
    """What the customer and the assistant said, in order; secrets are masked."""
    lines = []
    for event in tracker.events:
        kind = event.get("event")
        if kind == "user":
            text = shared.redact(str(event.get("text") or ""))
            line = {"speaker": "customer", "text": text,
                    "intent": (event.get("parse_data") or {}).get("intent", {}).get("name")}
            sent = sent_files(event)
            if sent:
                line["attachments"] = sent
        elif kind == "bot":
            line = {"speaker": "assistant", "text": str(event.get("text") or "")}
        else:
            continue
        if event.get("timestamp"):
            line["timestamp"] = event["timestamp"]
        lines.append(line)
    return lines


def sent_files(event: Dict[str, Any]) -> List[Dict[str, Any]]:
    """What the customer sent with a message (photos, screenshots, voice notes): references to the
    attachment store, with what the assistant read on each picture, never the bytes."""
    refs = ((event.get("metadata") or {}).get("attachments")) or []
    seen = {summary.get("id"): summary for summary in (event.get("parse_data") or {}).get("attachments") or []
            if isinstance(summary, dict)}
    files = []
    for ref in refs:
        if not isinstance(ref, dict) or not ref.get("id"):
            continue
        item = {"id": ref["id"], "kind": ref.get("kind"), "mime": ref.get("mime")}
        summary = seen.get(ref["id"])
        if summary:
            item.update(image_kind=summary.get("image_kind"), category=summary.get("category"),
                        text=shared.redact(str(summary.get("text") or ""))[:500])
        files.append(item)
    return files


def summary_for(tracker: Tracker) -> str:
    """A one-line summary from what the customer last asked about."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            intent = (event.get("parse_data") or {}).get("intent", {}).get("name")
            if intent in SUMMARIES and intent not in ("human_handoff", "affirm"):
                return SUMMARIES[intent]
    return SUMMARIES["human_handoff"]


def hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, summary: str,
             reason: Optional[str] = None) -> List[Dict[str, Any]]:
    """Create the ticket and tell the customer when a person will answer."""
    order_id = tracker.get_slot("verified_order") or tracker.get_slot("order_id")
    ticket_id = shared.store().create_ticket(
        tracker.sender_id, summary, transcript(tracker), order_id=order_id, reason=reason)
    current = shared.now()
    if shared.pack().agent_available(current):
        dispatcher.utter_message(
            text=f"I've passed our conversation to an agent (ticket {ticket_id}). "
                 "An agent will join this chat shortly.")
    else:
        opening = shared.pack().next_agent_time(current)
        days = shared.setting("agents", "ticket_reply_business_days")
        dispatcher.utter_message(
            text=f"Our agents are offline right now. I've created ticket {ticket_id} with our "
                 f"conversation, and an agent will reply by e-mail within {days} business "
                 f"day{'s' if days != 1 else ''}. Agents are next available "
                 f"{opening:%A} at {opening:%H:%M} ({opening.tzname()}).")
    return [SlotSet("next_step", None)]


class ActionHandoff(shared.SkillAction):
    def name(self) -> Text:
        return "action_handoff"

    def answer(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        return hand_off(dispatcher, tracker, summary_for(tracker), reason="customer_request")


class ActionUnrecognizedCharge(shared.SkillAction):
    def name(self) -> Text:
        return "action_unrecognized_charge"

    def answer(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        dispatcher.utter_message(
            text="I'm sorry about that. A charge you don't recognise needs a person, "
                 "so I'm passing this to an agent straight away.")
        return hand_off(dispatcher, tracker, SUMMARIES["unrecognized_charge"],
                        reason="unrecognized_charge")
