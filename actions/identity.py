"""Identity check before any order detail: order number, then the e-mail on the order.

The form re-asks a malformed value with a clear hint. When both are given they are checked
together with `store.verify_order`; a mismatch says only that they could not be matched
(never which one was wrong, nor whether the order exists), clears both and asks again.
After MAX_VERIFICATION_FAILURES in a row the form ends and the skill offers an agent.
"""
import re
from abc import abstractmethod
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions import shared

EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

# Intents that interrupt a form instead of answering its question: the form rejects them and
# the rules take over (handoff, stop, ...).
# Each has a rule in data/rules.yml for when a form is active.
INTERRUPTIONS = {
    "human_handoff", "deny", "goodbye", "bot_challenge", "unrecognized_charge",
    "out_of_scope", "faq", "device_problem", "login_problem", "payment_problem", "product_info",
}


def find_order_id(text: Any) -> Optional[str]:
    """The order number in `text`, written as the pack writes it ("bw 723241" -> "BW-723241")."""
    pattern = shared.setting("orders", "id_pattern")
    example = str(shared.setting("orders", "id_example"))
    body = pattern.strip("^$")
    loose = body.replace("-", r"[-\s_]?") if "-" in body else body
    match = re.search(rf"(?<![A-Za-z0-9]){loose}(?![A-Za-z0-9])", str(text or ""), re.IGNORECASE)
    if not match:
        return None
    compact = re.sub(r"[-\s_]", "", match.group(0)).upper()
    if "-" in example:
        cut = example.index("-")
        compact = f"{compact[:cut]}-{compact[cut:]}"
    return compact if re.fullmatch(pattern, compact) else None


def find_email(text: Any) -> Optional[str]:
    match = EMAIL.search(str(text or ""))
    return match.group(0).lower() if match else None


def first(value: Any) -> Any:
    """Entities can fill a slot with a list; the first value counts."""
    return value[0] if isinstance(value, list) and value else value


class VerificationForm(FormValidationAction):
    """Shared extraction and validation for the forms that check who the customer is."""

    def free_text(self, tracker: Tracker, slot: str) -> Dict[str, Any]:
        """The customer's whole answer for the slot being asked, unless it is an interruption."""
        if tracker.get_slot("requested_slot") != slot:
            return {}
        text = shared.user_text(tracker)
        intent = shared.latest_intent(tracker)
        if not text or intent in INTERRUPTIONS:
            return {}
        if intent == "warranty" and shared.latest_entity(tracker, "product"):
            return {}  # a product's warranty question: answered by a rule, then the form goes on
        return {slot: text}

    def failures(self, tracker: Tracker) -> int:
        return int(tracker.get_slot("verification_failures") or 0)

    async def extract_email(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") == "email":
            found = find_email(shared.user_text(tracker))
            if found:
                return {"email": found}
        return self.free_text(tracker, "email")

    def validate_email(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        found = find_email(first(value))
        if found:
            return {"email": found}
        if shared.contains_secret(str(first(value))):
            dispatcher.utter_message(response="utter_no_secrets")
        dispatcher.utter_message(
            text="That doesn't look like an e-mail address. Could you check it and send it again?")
        return {"email": None}

    async def run(self, dispatcher, tracker, domain):
        try:
            return await super().run(dispatcher, tracker, domain)
        except Exception as error:  # noqa: BLE001 - an apology, never a crash
            shared.logger.error("%s failed: %s", self.name(), type(error).__name__)
            dispatcher.utter_message(response="utter_technical_problem")
            return [SlotSet("requested_slot", None)]

    async def next_requested_slot(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        """Always say which slot comes next (None ends the form), from `required_slots`."""
        required = await self.required_slots(self.domain_slots(domain), dispatcher, tracker, domain)
        return SlotSet("requested_slot", next((s for s in required if tracker.slots.get(s) is None), None))

    async def get_validation_events(self, dispatcher, tracker, domain) -> List[Dict[str, Any]]:
        """Validate each slot, then check the pair once both are known."""
        events = await super().get_validation_events(dispatcher, tracker, domain)
        tracker.add_slots(events)
        return events + self.verify(dispatcher, tracker)

    @abstractmethod
    def verify(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[str, Any]]:
        """Check the identity slots together once all are given; return the events."""

    def mismatch(self, dispatcher: CollectingDispatcher, tracker: Tracker, what: str,
                 slots: List[str]) -> List[Dict[str, Any]]:
        """The same answer whatever did not match; clears the slots to ask again."""
        failures = self.failures(tracker) + 1
        if failures >= shared.MAX_VERIFICATION_FAILURES:
            dispatcher.utter_message(text=f"Sorry, I still couldn't match {what}.")
        else:
            dispatcher.utter_message(
                text=f"Sorry, I couldn't match {what}. Let's try again.")
        events = [SlotSet(slot, None) for slot in slots]
        events.append(SlotSet("verification_failures", failures))
        tracker.add_slots(events)
        return events


class ValidateIdentityForm(VerificationForm):
    def name(self) -> Text:
        return "validate_identity_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[Text]:
        if (not tracker.get_slot("verified_order")
                and self.failures(tracker) >= shared.MAX_VERIFICATION_FAILURES):
            return []  # give up: the skill offers an agent
        slots = ["order_id", "email"]
        if tracker.get_slot("pending_request") == "change_address" and self.address_changeable(tracker):
            slots.append("new_address")
        return slots

    @staticmethod
    def address_changeable(tracker: Tracker) -> bool:
        order = shared.verified_order(tracker)
        allowed = shared.setting("orders", "address_changeable_statuses")
        return bool(order) and order["status"] in allowed

    async def extract_order_id(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") == "order_id":
            found = find_order_id(shared.user_text(tracker))
            if found:
                return {"order_id": found}
        return self.free_text(tracker, "order_id")

    def validate_order_id(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        found = find_order_id(first(value))
        if found:
            return {"order_id": found}
        if shared.contains_secret(str(first(value))):
            dispatcher.utter_message(response="utter_no_secrets")
        example = shared.setting("orders", "id_example")
        dispatcher.utter_message(
            text=f"That doesn't look like an order number. It looks like {example} "
                 "and is in your order confirmation e-mail.")
        return {"order_id": None}

    async def extract_new_address(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        return self.free_text(tracker, "new_address")

    def validate_new_address(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        address = " ".join(str(first(value) or "").split())
        if 8 <= len(address) <= 200 and re.search(r"\d", address) and re.search(r"[A-Za-z]{2}", address):
            return {"new_address": address}
        dispatcher.utter_message(
            text="That doesn't look like a full address. Please give the street and number, "
                 "city, state and ZIP code.")
        return {"new_address": None}

    def verify(self, dispatcher, tracker) -> List[Dict[str, Any]]:
        order_id, email = tracker.get_slot("order_id"), tracker.get_slot("email")
        if not (order_id and email) or tracker.get_slot("verified_order") == order_id:
            return []
        if shared.store().verify_order(order_id, email) is None:
            return self.mismatch(dispatcher, tracker, "that order number and e-mail address",
                                 ["order_id", "email", "verified_order"])
        events = [SlotSet("verified_order", order_id), SlotSet("verification_failures", 0)]
        tracker.add_slots(events)
        return events
