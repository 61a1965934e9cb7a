"""Issue 15: the identity checks cannot be brute-forced, through the real Rasa server, action server
and perception service (REST channel). 20 wrong guesses, from one conversation or spread over 20
sender ids, then the right one: no wallet balance, no order status is ever shown.

Each test uses a customer no other test of the shared `assistant` uses (the locks it leaves last
30 minutes in that assistant's attempts store): Maya Patel and Farid Haddad (wallets of $150.00),
Keiko Sato's BW-938487 (processing) and Jonas Weber's BW-639788 (shipped, UPS UP9662226292).
"""
import uuid

LOCKED = "can't check details for this"  # actions/identity.py, VerificationForm.locked_text


def sender() -> str:
    return f"lockout-{uuid.uuid4().hex[:10]}"


def wallet(assistant, me: str, email: str, last4: str) -> str:
    """One e-mail + phone-digits pair in one message, as the issue's report sent them."""
    return assistant.texts(me, f"wallet balance for {email} phone ending {last4}")


def order(assistant, me: str, order_id: str, email: str) -> str:
    """One order number + e-mail pair: the order's status asked, then the e-mail given."""
    answer = assistant.texts(me, f"where is my order {order_id}")
    if "e-mail" in answer or "email" in answer:
        answer += " " + assistant.texts(me, email)
    return answer


def reveals_wallet(answer: str) -> bool:
    return "wallet balance is" in answer or "$150.00" in answer or "installment" in answer


def test_wallet_digits_from_one_conversation(assistant):
    me = sender()
    answers = [wallet(assistant, me, "maya.patel@example.com", f"{guess:04d}") for guess in range(20)]
    assert not any(reveals_wallet(answer) for answer in answers)
    assert "couldn't match" in answers[0]
    assert any(LOCKED in answer for answer in answers), answers[-1]
    right = wallet(assistant, me, "maya.patel@example.com", "0122")
    assert not reveals_wallet(right) and LOCKED in right
    # a new conversation does not start the count over
    again = wallet(assistant, sender(), "maya.patel@example.com", "0122")
    assert not reveals_wallet(again) and LOCKED in again


def test_wallet_digits_spread_over_twenty_senders(assistant):
    answers = [wallet(assistant, sender(), "farid.haddad@example.com", f"{guess:04d}") for guess in range(20)]
    assert not any(reveals_wallet(answer) for answer in answers)
    assert LOCKED in answers[-1]
    right = wallet(assistant, sender(), "farid.haddad@example.com", "0115")
    assert not reveals_wallet(right) and LOCKED in right


def test_order_emails_from_one_conversation(assistant):
    me = sender()
    answers = [order(assistant, me, "BW-938487", f"keiko.sato{guess}@example.com") for guess in range(20)]
    right = order(assistant, me, "BW-938487", "keiko.sato@example.com")
    for answer in answers + [right]:
        assert "being prepared" not in answer and "power bank" not in answer
    assert any(LOCKED in answer for answer in answers)
    assert LOCKED in right


def test_order_numbers_spread_over_twenty_senders(assistant):
    answers = [order(assistant, sender(), f"BW-6397{guess:02d}", "jonas.weber@example.com")
               for guess in range(20)]
    right = order(assistant, sender(), "BW-639788", "jonas.weber@example.com")
    for answer in answers + [right]:
        assert "up9662226292" not in answer and "has shipped" not in answer
    assert LOCKED in answers[-1] and LOCKED in right
