"""Identity check before any order detail: order number, then the e-mail on the order.

The form re-asks a malformed value with a clear hint. When both are given they are checked
together with `store.verify_order`; a mismatch says only that they could not be matched
(never which one was wrong, nor whether the order exists), clears both and asks again.

Every pair checked is one try against the conversation, the order and the account
(actions/attempts.py, shared by all action servers, never reset by starting over). Once one of
them has had pack.yml identity.max_failures wrong pairs it is locked for identity.lock_minutes:
the pair is then not checked at all, the customer is told for how long self-service is paused,
the form ends and the skill offers an agent. A verified identity left idle for
identity.verified_idle_minutes is asked for again (`shared.verification_lapsed`). A customer
the company's site signed in (`shared.signed_in_email`) is not asked for the e-mail.
"""
import math
import re
from abc import abstractmethod
from typing import Any, Callable, Dict, List, Optional, Text

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
    "search_products",
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

    verified_slot = "verified_order"       # set to the proved order number (or e-mail)
    identity_slots = ["order_id", "email"]  # what the customer gives, cleared after a failure
    subject = "order"                       # what a lock pauses, in the customer's words
    pair = "that order number and e-mail address"

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

    @staticmethod
    def max_failures() -> int:
        return int(shared.setting("identity", "max_failures"))

    def gave_up(self, tracker: Tracker) -> bool:
        """The check ended without success (locked): the form asks nothing more, the skill
        offers an agent (and resets the slot)."""
        return not tracker.get_slot(self.verified_slot) and self.failures(tracker) >= self.max_failures()

    async def extract_email(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        signed_in = shared.signed_in_email(tracker)
        if signed_in:  # the company's site signed this customer in: their e-mail, never asked
            return {} if tracker.get_slot("email") == signed_in else {"email": signed_in}
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
        """Validate each slot, forget an identity left idle too long, then check the pair once
        both are known."""
        events = await super().get_validation_events(dispatcher, tracker, domain)
        tracker.add_slots(events)
        events += self.forget_lapsed(dispatcher, tracker)
        return events + self.verify(dispatcher, tracker)

    def forget_lapsed(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[str, Any]]:
        """A verified identity the customer left idle: cleared with what proved it, asked again."""
        if not tracker.get_slot(self.verified_slot) or not shared.verification_lapsed(tracker, self.verified_slot):
            return []
        dispatcher.utter_message(
            text="It's been a while, so for your security I need to check your details again.")
        events = [SlotSet(slot, None) for slot in [self.verified_slot, *self.identity_slots]]
        tracker.add_slots(events)
        return events

    def check(self, dispatcher: CollectingDispatcher, tracker: Tracker, keys: List[str],
              proved: Callable[[], bool], value: str) -> List[Dict[str, Any]]:
        """One try of a guessed pair: refused unchecked while any of `keys` is locked, else
        counted, then checked with `proved()`; `value` goes into the verified slot."""
        tries = shared.attempts()
        keys = [f"conv:{tracker.sender_id}", *keys]
        left = tries.attempt(keys)
        if left > 0:  # not checked: a right pair gets the same answer as a wrong one
            return self.give_up(dispatcher, tracker, self.locked_text(left))
        if not proved():
            return self.mismatch(dispatcher, tracker, tries.locked(keys))
        tries.passed(keys)
        events = [SlotSet(self.verified_slot, value), SlotSet("verification_failures", 0)]
        tracker.add_slots(events)
        return events

    def locked_text(self, seconds: float) -> str:
        minutes = max(1, math.ceil(seconds / 60))
        return (f"For your security, I can't check details for this {self.subject} here for the "
                f"next {minutes} minute{'s' if minutes != 1 else ''}: too many tries didn't match. "
                "An agent can confirm who you are another way and help you now, or you can try "
                "again here after that.")

    def give_up(self, dispatcher: CollectingDispatcher, tracker: Tracker, text: str) -> List[Dict[str, Any]]:
        """Say `text`, clear the identity and end the form (the skill then offers an agent)."""
        dispatcher.utter_message(text=text)
        events = [SlotSet(slot, None) for slot in [*self.identity_slots, self.verified_slot]]
        events.append(SlotSet("verification_failures", max(self.failures(tracker), self.max_failures())))
        tracker.add_slots(events)
        return events

    @abstractmethod
    def verify(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> List[Dict[str, Any]]:
        """Check the identity slots together once all are given; return the events."""

    def mismatch(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                 locked_s: float = 0.0) -> List[Dict[str, Any]]:
        """The same answer whatever did not match; clears the slots to ask again, or ends the
        form when that try locked the check (`locked_s`) or it was the last one allowed here."""
        if locked_s > 0:
            return self.give_up(dispatcher, tracker,
                                f"Sorry, I couldn't match {self.pair}. {self.locked_text(locked_s)}")
        failures = self.failures(tracker) + 1
        if failures >= self.max_failures():
            return self.give_up(dispatcher, tracker, f"Sorry, I still couldn't match {self.pair}.")
        dispatcher.utter_message(text=f"Sorry, I couldn't match {self.pair}. Let's try again.")
        events = [SlotSet(slot, None) for slot in [*self.identity_slots, self.verified_slot]]
        events.append(SlotSet("verification_failures", failures))
        tracker.add_slots(events)
        return events


class ValidateIdentityForm(VerificationForm):
    def name(self) -> Text:
        return "validate_identity_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[Text]:
        if self.gave_up(tracker):
            return []  # the skill offers an agent
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
        return self.check(dispatcher, tracker, [f"order:{order_id}", f"account:{email}"],
                          lambda: shared.store().verify_order(order_id, email) is not None, order_id)
