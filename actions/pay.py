"""Wallet balance and installment plans, after checking the e-mail and the phone's last digits.

The records hold no installment amounts, so none are quoted: only the wallet balance, the
orders paid in installments and the next collection date (pack.yml pay.installment_day_of_month).
"""
import re
from datetime import date
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions import shared
from actions.identity import VerificationForm, first

INSTALLMENT_PAYMENT = "brightwave_pay_installments"
CLOSED_STATUSES = {"cancelled", "refunded"}


def phone_digits_wanted() -> int:
    return int(shared.setting("pay", "verify_phone_digits"))


def find_phone_last4(text: Any) -> Optional[str]:
    """The last digits of a phone number: exactly that many digits, or a whole number."""
    digits = re.sub(r"\D", "", str(text or ""))
    wanted = phone_digits_wanted()
    if len(digits) == wanted or len(digits) >= 10:
        return digits[-wanted:]
    return None


def next_installment_date(today: date, day_of_month: int) -> date:
    """The next collection day on or after today."""
    if today.day <= day_of_month:
        return today.replace(day=day_of_month)
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, day_of_month)


class ValidatePayForm(VerificationForm):
    verified_slot = "verified_pay_email"
    identity_slots = ["email", "phone_last4"]
    subject = "wallet account"
    pair = "that e-mail address and phone number"

    def name(self) -> Text:
        return "validate_pay_form"

    async def required_slots(self, domain_slots, dispatcher, tracker, domain) -> List[Text]:
        if self.gave_up(tracker):
            return []  # the skill offers an agent
        if shared.signed_in_email(tracker):
            return ["email"]  # signed in by the company's site: its e-mail is the proof
        return ["email", "phone_last4"]

    async def extract_phone_last4(self, dispatcher, tracker, domain) -> Dict[str, Any]:
        if tracker.get_slot("requested_slot") == "phone_last4":
            found = find_phone_last4(shared.user_text(tracker))
            if found:
                return {"phone_last4": found}
        return self.free_text(tracker, "phone_last4")

    def validate_phone_last4(self, value, dispatcher, tracker, domain) -> Dict[str, Any]:
        found = find_phone_last4(first(value))
        if found:
            return {"phone_last4": found}
        dispatcher.utter_message(
            text=f"I need just the last {phone_digits_wanted()} digits of the phone number "
                 "on the account, for example 1234.")
        return {"phone_last4": None}

    def verify(self, dispatcher, tracker) -> List[Dict[str, Any]]:
        email, last4 = tracker.get_slot("email"), tracker.get_slot("phone_last4")
        if not email or tracker.get_slot("verified_pay_email") == email:
            return []
        if email == shared.signed_in_email(tracker):  # the channel checked the site's signature
            events = [SlotSet("verified_pay_email", email), SlotSet("verification_failures", 0)]
            tracker.add_slots(events)
            return events
        if not last4:
            return []
        return self.check(dispatcher, tracker, [f"account:{email}"],
                          lambda: shared.store().verify_pay_account(email, last4) is not None, email)


class ActionPayAccount(shared.SkillAction):
    def name(self) -> Text:
        return "action_pay_account"

    def answer(self, dispatcher, tracker: Tracker, domain) -> List[Dict[str, Any]]:
        email = tracker.get_slot("verified_pay_email")
        if (not email or email != tracker.get_slot("email")
                or shared.verification_lapsed(tracker, "verified_pay_email")):
            return shared.not_verified(dispatcher, "account", tracker)
        customer = shared.store().get_customer(email)
        if customer is None:
            return shared.not_verified(dispatcher, "account", tracker)
        lines = [f"Your wallet balance is {shared.money(customer['pay_wallet_balance_usd'])}."]
        plans = [order for order in shared.store().orders_for_email(email)
                 if order.get("payment") == INSTALLMENT_PAYMENT
                 and order.get("status") not in CLOSED_STATUSES]
        if plans:
            listed = shared.join_words(
                [f"{order['order_id']} ({shared.order_items(order)})" for order in plans])
            day = int(shared.setting("pay", "installment_day_of_month"))
            due = next_installment_date(shared.today(), day)
            lines.append(f"Orders on installment plans: {listed}.")
            lines.append(f"The next installment will be collected on {shared.fmt_date(due)}.")
        else:
            lines.append("You have no active installment plans.")
        dispatcher.utter_message(text=" ".join(lines))
        return []
