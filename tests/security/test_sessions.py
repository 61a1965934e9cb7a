"""Sessions that cannot be borrowed (channels/sessions.py), through the real servers: a
conversation verifies an order with its e-mail; a second client that uses the conversation's id
without its token (web chat, voice) or without the channel secret (REST, multimodal, voice /turn)
gets no personal data, while the conversation's own client still does. Also: a signed-in customer
passed by the company's back end, and the rules of sessions.py without a server."""
import asyncio
import json
import time
import uuid
from types import SimpleNamespace

import pytest
import requests

from channels import sessions
from channels.multimodal import RequestRefused
from tests import services
from tests.voice.call import VoiceCall
from tests.webchat.client import ChatClient, bot_texts

# an order no other test touches: shipped, so its status carries a tracking number
ORDER, EMAIL, TRACKING = "BW-407197", "imani.brooks@example.com", "us3154565813"
STATUS = "what's the status of my order?"
KEYS = sessions.Secrets(services.CHANNEL_SECRET)  # what the test servers were started with


def sender() -> str:
    return f"sess-{uuid.uuid4().hex[:10]}"


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 600))


def verify_over_rest(assistant, me: str) -> None:
    """The identity check of `me` done by the company's back end (the channel secret)."""
    assert "order" in assistant.texts(me, "hi, where is my order?")
    assistant.texts(me, f"it's {ORDER}")
    assert TRACKING in assistant.texts(me, EMAIL)


def user_turns(assistant, me: str) -> int:
    return len([e for e in assistant.tracker(me)["events"] if e["event"] == "user"])


def error_code(response) -> str:
    return response.json()["error"]["code"]


# ------------------------------------------------------------------ REST and multimodal


def test_rest_and_multimodal_need_the_channel_secret(assistant):
    me = sender()
    verify_over_rest(assistant, me)
    turns = user_turns(assistant, me)
    rest = f"{assistant.url}/webhooks/rest/webhook"
    multimodal = f"{assistant.url}/webhooks/multimodal/webhook"
    for headers, code in (({}, "missing_channel_secret"),
                          ({"Authorization": "Bearer not-the-secret"}, "bad_channel_secret"),
                          ({"Authorization": services.CHANNEL_SECRET}, "bad_channel_secret")):
        answer = requests.post(rest, json={"sender": me, "message": STATUS}, headers=headers, timeout=60)
        assert answer.status_code == 401 and error_code(answer) == code, answer.text
        assert TRACKING not in answer.text.lower() and ORDER not in answer.text
        answer = requests.post(multimodal, files=[("sender", (None, me)), ("message", (None, STATUS))],
                               headers=headers, timeout=60)
        assert answer.status_code == 401 and error_code(answer) == code, answer.text
        assert TRACKING not in answer.text.lower()
    assert user_turns(assistant, me) == turns  # nothing reached the conversation
    # the back end itself still gets the answer: the check above is what stopped the others
    assert TRACKING in assistant.texts(me, STATUS)


# ------------------------------------------------------------------ web chat


def test_web_chat_sessions_are_server_issued_and_need_their_token(assistant):
    async def conversation():
        owner = ChatClient(assistant.url)
        own_id = await owner.connect("a-name-i-chose")  # a proposed id without token: a new one
        assert own_id != "a-name-i-chose" and len(own_id) == 32
        await owner.send("hi, where is my order?")
        await owner.send(f"it's {ORDER}")
        verified = bot_texts(await owner.send(EMAIL))
        token = owner.session_token
        await owner.close()

        thieves = []
        right = KEYS.token(own_id)
        for guess in (None, "0" * 64, right[:-1] + ("1" if right.endswith("0") else "0")):
            thief = ChatClient(assistant.url)
            stolen = await thief.connect(own_id, guess)
            answer = bot_texts(await thief.send(STATUS))
            # a session_id inside a message does not move the socket to that conversation
            again = bot_texts(await thief.send(STATUS, session_id=own_id))
            thieves.append((stolen, thief.named("history")[0]["messages"], answer, again))
            await thief.close()

        early = ChatClient(assistant.url)  # a message before session_request goes nowhere
        await early.connect(handshake=False)
        refused = [d for e, d in await early.send(STATUS, session_id=own_id) if e == "error"]
        await early.close()

        back = ChatClient(assistant.url)  # the owner's reload: id and token
        assert await back.connect(own_id, token) == own_id
        resumed = back.named("history")[0]["messages"]
        answer = bot_texts(await back.send(STATUS))
        await back.close()
        return own_id, verified, thieves, refused, resumed, answer

    own_id, verified, thieves, refused, resumed, answer = run(conversation())
    assert TRACKING in verified
    for stolen, history, first, second in thieves:
        assert stolen != own_id and history == []
        assert TRACKING not in first and TRACKING not in second and ORDER.lower() not in first + second
    assert refused and refused[0]["code"] == "missing_session"
    assert any(TRACKING in m.get("text", "").lower() for m in resumed)  # the owner's history
    assert TRACKING in answer  # and the owner is still verified


# ------------------------------------------------------------------ voice


def test_voice_calls_get_a_server_issued_sender_and_need_its_token(assistant):
    url = assistant.url.replace("http://", "ws://") + "/webhooks/voice/stream"

    async def calls():
        owner = await VoiceCall(url).open()
        await owner.stop()
        ready = owner.find("ready")
        thieves = []
        for start in ({"type": "start", "sender": ready["sender"]},
                      {"type": "start", "sender": ready["sender"], "session_token": "0" * 64}):
            thief = await VoiceCall(url, start=start).open(wait_ready=False)
            await thief.closed()
            thieves.append(thief)
        back = await VoiceCall(url, start={"type": "start", "sender": ready["sender"],
                                           "session_token": ready["session_token"]}).open()
        await back.stop()
        chosen = await VoiceCall(url, "a-caller-id", headers=services.channel_auth()).open()
        await chosen.stop()
        return ready, thieves, back.find("ready"), chosen.find("ready")

    ready, thieves, resumed, chosen = run(calls())
    me = ready["sender"]
    assert len(me) == 32 and ready["session_token"] == KEYS.token(me)
    for thief in thieves:
        assert not thief.find("ready") and thief.find("error")["code"] == "bad_session_token"
        assert thief.close_code == 1008
    assert resumed["sender"] == me  # the owner resumes with the token
    assert chosen["sender"] == "a-caller-id" and "session_token" not in chosen  # the back end
    # the call's conversation verified (by the back end here: speech adds nothing to the check),
    # then a recording to /turn as that sender without the secret gets nothing
    verify_over_rest(assistant, me)
    turns = user_turns(assistant, me)
    for headers, code in (({}, "missing_channel_secret"), ({"Authorization": "Bearer nope"}, "bad_channel_secret")):
        answer = requests.post(f"{assistant.url}/webhooks/voice/turn", params={"sender": me},
                               data=b"RIFF" + b"\x00" * 64, headers=headers, timeout=60)
        assert answer.status_code == 401 and error_code(answer) == code
        assert answer.headers["content-type"].startswith("application/json")
    assert user_turns(assistant, me) == turns


# ------------------------------------------------------------------ public REST and multimodal


@pytest.fixture(scope="module")
def public(trained_model, perception_url, rasa_token, tmp_path_factory):
    """A Rasa whose REST and multimodal channels are public (credentials.yml with public: true)."""
    folder = tmp_path_factory.mktemp("public")
    credentials = (services.ROOT / "credentials.yml").read_text()
    assert credentials.count("  public: false\n") == 2
    (folder / "credentials.yml").write_text(credentials.replace("  public: false\n", "  public: true\n"))
    actions = services.start_actions("public-actions", services.seed_db(folder / "company.db"),
                                      perception_url, wait=False)
    rasa = services.start_rasa("public-rasa", trained_model, actions.health_url.rsplit("/health", 1)[0],
                               perception_url, folder / "tracker.db", rasa_token,
                               attachments_dir=folder / "attachments", wait=False,
                               extra_args=["--credentials", str(folder / "credentials.yml")])
    services.start_together(actions, rasa)
    yield rasa.health_url.rstrip("/")
    rasa.stop()
    actions.stop()


def test_public_channels_issue_sessions_and_refuse_borrowed_ids(public):
    rest, multimodal = f"{public}/webhooks/rest/webhook", f"{public}/webhooks/multimodal/webhook"
    first = requests.post(rest, json={"message": "hi, where is my order?"}, timeout=120)
    assert first.status_code == 200, first.text
    me, token = first.headers["X-Parley-Session"], first.headers["X-Parley-Session-Token"]
    assert len(me) == 32 and all(m["recipient_id"] == me for m in first.json())
    own = {"X-Parley-Session-Token": token}

    def texts(answer) -> str:
        assert answer.status_code == 200, answer.text
        return " ".join(m.get("text", "") for m in answer.json()).lower()

    texts(requests.post(rest, json={"sender": me, "message": f"it's {ORDER}"}, headers=own, timeout=120))
    assert TRACKING in texts(requests.post(rest, json={"sender": me, "message": EMAIL}, headers=own, timeout=120))
    for headers in ({}, {"X-Parley-Session-Token": "0" * 64}, {"X-Parley-Session": me}):
        for answer in (requests.post(rest, json={"sender": me, "message": STATUS}, headers=headers, timeout=60),
                       requests.post(multimodal, files=[("sender", (None, me)), ("message", (None, STATUS))],
                                     headers=headers, timeout=60)):
            assert answer.status_code == 403 and error_code(answer) == "bad_session_token", answer.text
            assert TRACKING not in answer.text.lower() and "X-Parley-Session-Token" not in answer.headers
    wrong = requests.post(rest, json={"sender": me, "message": STATUS},
                          headers={"Authorization": "Bearer not-the-secret"}, timeout=60)
    assert wrong.status_code == 401 and error_code(wrong) == "bad_channel_secret"
    # the conversation's own client, on either channel, and the back end still get the answer
    assert TRACKING in texts(requests.post(multimodal, files=[("sender", (None, me)), ("message", (None, STATUS))],
                                           headers=own, timeout=120))
    assert TRACKING in texts(requests.post(rest, json={"sender": me, "message": STATUS},
                                           headers=services.channel_auth(), timeout=120))


# ------------------------------------------------------------------ signed-in customers


def signed(email: str, expires: int, secret: str = services.CHANNEL_SECRET) -> dict:
    return {"customer": {"email": email, "expires": expires},
            "customer_signature": sessions.Secrets(secret).customer_signature(email, expires)}


def test_a_customer_signed_in_by_the_back_end_reaches_the_tracker(assistant):
    me, later = sender(), int(time.time()) + 600
    answer = assistant.send(me, "hello", metadata={**signed(EMAIL, later), "page": "orders",
                                                    "signed_in_customer": {"email": "forged@example.com"}})
    assert answer.status_code == 200, answer.text
    metadata = [e for e in assistant.tracker(me)["events"] if e["event"] == "user"][-1]["metadata"]
    assert metadata["signed_in_customer"] == {"email": EMAIL, "expires": later}
    assert metadata["client"] == {"page": "orders"}  # the client's own copy is dropped
    # over REST too (its other metadata is not kept)
    rest = requests.post(f"{assistant.url}/webhooks/rest/webhook", headers=services.channel_auth(),
                         json={"sender": me, "message": "thanks", "metadata": signed(EMAIL, later)}, timeout=60)
    assert rest.status_code == 200
    events = [e for e in assistant.tracker(me)["events"] if e["event"] == "user"]
    assert events[-1]["metadata"]["signed_in_customer"]["email"] == EMAIL
    # forged, expired or signed with another secret: refused, nothing reaches the conversation
    for metadata in (signed("someone.else@example.com", later, "another secret of 32 characters!"),
                     signed(EMAIL, int(time.time()) - 5),
                     {**signed(EMAIL, later), "customer": {"email": "x@example.com", "expires": later}},
                     {"signed_in_customer": {"email": EMAIL}, "customer": EMAIL}):
        refused = assistant.send(me, "hello", metadata=metadata)
        assert refused.status_code == 403 and error_code(refused) == "bad_customer_signature", metadata
    assert len([e for e in assistant.tracker(me)["events"] if e["event"] == "user"]) == len(events)


# ------------------------------------------------------------------ the rules, without a server


def request(**headers) -> SimpleNamespace:
    return SimpleNamespace(headers={k.lower().replace("_", "-"): v for k, v in headers.items()})


@pytest.fixture
def secret(monkeypatch):
    monkeypatch.setenv(sessions.SECRET_ENV, services.CHANNEL_SECRET)
    sessions.keys.cache_clear()
    yield
    sessions.keys.cache_clear()


def test_a_public_channel_issues_sessions_and_checks_their_tokens(secret):
    fresh = sessions.HttpSession(request(), public=True)
    issued = fresh.default_sender
    fresh.check(issued)  # the request without a sender gets the new id
    headers = fresh.headers()
    assert headers["X-Parley-Session"] == issued and headers["X-Parley-Session-Token"] == KEYS.token(issued)
    again = sessions.HttpSession(request(x_parley_session_token=KEYS.token(issued)), public=True)
    again.check(issued)
    assert again.headers() == {}
    for token in ({}, {"x_parley_session_token": "0" * 64}):
        with pytest.raises(RequestRefused) as refused:
            sessions.HttpSession(request(**token), public=True).check(issued)
        assert (refused.value.status, refused.value.code) == (403, "bad_session_token")
    # the back end (the secret) may name any sender, public or not; a wrong secret is never ignored
    sessions.HttpSession(request(authorization=f"Bearer {services.CHANNEL_SECRET}"), public=True).check("anyone")
    for public in (True, False):
        with pytest.raises(RequestRefused) as refused:
            sessions.HttpSession(request(authorization="Bearer wrong"), public=public)
        assert (refused.value.status, refused.value.code) == (401, "bad_channel_secret")
    with pytest.raises(RequestRefused) as refused:
        sessions.HttpSession(request(), public=False)
    assert refused.value.code == "missing_channel_secret"


def test_the_secret_comes_from_the_environment_or_the_file(monkeypatch, tmp_path):
    monkeypatch.delenv(sessions.SECRET_ENV, raising=False)
    monkeypatch.setenv(sessions.SECRET_FILE_ENV, str(tmp_path / "channel_secret"))
    with pytest.raises(ValueError, match="no channel secret"):
        sessions.read_secret()
    (tmp_path / "channel_secret").write_text("from-the-file-0123456789\n")
    assert sessions.read_secret() == "from-the-file-0123456789"
    monkeypatch.setenv(sessions.SECRET_ENV, "from-the-environment-0123")
    assert sessions.read_secret() == "from-the-environment-0123"
    with pytest.raises(ValueError, match="at least"):
        sessions.Secrets("short")


def test_tokens_and_signatures_depend_on_the_secret():
    other = sessions.Secrets("another secret of 32 characters!")
    session_id, token = KEYS.issue()
    assert KEYS.valid(session_id, token) and not other.valid(session_id, token)
    assert not KEYS.valid(session_id, None) and not KEYS.valid(None, token) and not KEYS.valid(session_id, 5)
    assert KEYS.issue()[0] != session_id
    later = int(time.time()) + 60
    rest, customer = KEYS.split_customer(signed(EMAIL, later))
    assert rest == {} and customer == {"email": EMAIL, "expires": later}
    for bad in (signed(EMAIL, int(time.time()) + 2 * 86400),  # more than a day ahead
                {**signed(EMAIL, later), "customer_signature": 5},
                json.loads(json.dumps(signed(EMAIL, later)).replace(EMAIL, EMAIL.upper()))):
        with pytest.raises(RequestRefused):
            KEYS.split_customer(bad)
    assert KEYS.split_customer({"signed_in_customer": {"email": EMAIL}, "a": 1}) == ({"a": 1}, None)


def test_a_signed_in_customer_is_not_asked_to_prove_it(assistant):
    """The actions take the checked signature in place of the identity check: the wallet balance
    comes without the phone digits being asked; without the signature nothing is shown."""
    later = int(time.time()) + 600

    def said(answer) -> str:
        assert answer.status_code == 200, answer.text
        return " ".join(m.get("text") or "" for m in answer.json()).lower()

    signed_answer = said(assistant.send(sender(), "how much is in my wallet?", metadata=signed(EMAIL, later)))
    assert "$85.20" in signed_answer, signed_answer
    plain_answer = said(assistant.send(sender(), "how much is in my wallet?"))
    assert "$85.20" not in plain_answer and "e-mail" in plain_answer, plain_answer
