"""The security of the running assistant: the HTTP API behind its token, CORS as an allow-list,
the action server on loopback only, rate limits (429 + Retry-After), size caps, the /intent
shortcut refused (a button the bot offered still works) and errors that never echo the request."""
import json
import socket
import uuid
from pathlib import Path

import pytest
import requests

from tests import services

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
       b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")
ALLOWED = "https://shop.example"
FORGED = '/order_status{"order_id": "BW-1"}'
AUTH = services.channel_auth()  # the company's back end (channels/sessions.py)


def sender() -> str:
    return f"sec-{uuid.uuid4().hex[:10]}"


def error_code(response) -> str:
    return response.json()["error"]["code"]


# ------------------------------------------------------------------ Rasa's HTTP API and CORS

@pytest.mark.parametrize("method,path", [("GET", "/conversations/someone/tracker"),
                                         ("POST", "/conversations/someone/messages"),
                                         ("GET", "/status"), ("POST", "/model/parse"),
                                         ("PUT", "/model"), ("GET", "/domain")])
def test_the_http_api_needs_the_token(assistant, method, path):
    for params in ({}, {"token": "wrong"}):
        answer = requests.request(method, f"{assistant.url}{path}", params=params,
                                  json={"text": "hi", "sender": "user"}, timeout=30)
        assert answer.status_code in (401, 403), (path, params, answer.status_code)
    assert requests.get(f"{assistant.url}/status", params={"token": assistant.token},
                        timeout=30).status_code == 200


def test_cors_answers_only_origins_on_the_allow_list(assistant, guarded):
    # the test assistant runs without --cors: no origin at all
    answer = requests.get(f"{assistant.url}/", headers={"Origin": "https://evil.example"}, timeout=30)
    assert "Access-Control-Allow-Origin" not in answer.headers
    # run.sh passes --cors "$RASA_CORS": the listed origin only
    for url in (f"{guarded}/", f"{guarded}/webhooks/rest/webhook"):
        foreign = requests.options(url, headers={"Origin": "https://evil.example",
                                                 "Access-Control-Request-Method": "POST"}, timeout=30)
        assert foreign.headers.get("Access-Control-Allow-Origin") in (None, ""), url
        allowed = requests.options(url, headers={"Origin": ALLOWED,
                                                 "Access-Control-Request-Method": "POST"}, timeout=30)
        assert allowed.headers.get("Access-Control-Allow-Origin") == ALLOWED, url


def _listening_addresses(port: int):
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def test_the_action_server_listens_on_loopback_only(tmp_path):
    db = services.seed_db(tmp_path / "company.db")
    actions = services.start_actions("security-actions", db, services.closed_url())
    try:
        port = int(actions.health_url.split(":")[2].split("/")[0])
        addresses = _listening_addresses(port)
        assert addresses and set(addresses) <= {"0100007F", "00000000000000000000000001000000"}, addresses
        others = [a for a in socket.gethostbyname_ex(socket.gethostname())[2] if not a.startswith("127.")]
        for address in others:  # where the machine has another address, nothing answers there
            with pytest.raises(OSError):
                socket.create_connection((address, port), timeout=5).close()
    finally:
        actions.stop()


# ------------------------------------------------------------------ the /intent shortcut

def test_a_forged_intent_shortcut_is_refused_on_every_text_channel(assistant):
    me = sender()
    rest = requests.post(f"{assistant.url}/webhooks/rest/webhook", headers=AUTH,
                         json={"sender": me, "message": FORGED}, timeout=60)
    assert rest.status_code == 400 and error_code(rest) == "intent_shortcut_refused"
    assert "BW-1" not in rest.text
    multimodal = assistant.send(me, "  " + FORGED)
    assert multimodal.status_code == 400 and error_code(multimodal) == "intent_shortcut_refused"
    events = requests.get(f"{assistant.url}/conversations/{me}/tracker",
                          params={"token": assistant.token}, timeout=30).json()["events"]
    assert not [e for e in events if e["event"] == "user"]  # nothing reached the dialogue


def test_a_button_the_bot_offered_can_be_clicked(assistant):
    me = sender()
    assert assistant.say(me, "hello")
    offered = requests.post(
        f"{assistant.url}/conversations/{me}/tracker/events", params={"token": assistant.token},
        json=[{"event": "bot", "text": "Was this helpful?",
               "data": {"buttons": [{"title": "Yes", "payload": "/affirm"},
                                    {"title": "No", "payload": "/deny"}]}}], timeout=60)
    assert offered.status_code == 200, offered.text
    # a payload that was not offered is still forged
    other = requests.post(f"{assistant.url}/webhooks/rest/webhook", headers=AUTH,
                          json={"sender": me, "message": '/affirm{"order_id": "BW-1"}'}, timeout=60)
    assert other.status_code == 400 and error_code(other) == "intent_shortcut_refused"
    clicked = requests.post(f"{assistant.url}/webhooks/rest/webhook", headers=AUTH,
                            json={"sender": me, "message": "/affirm"}, timeout=60)
    assert clicked.status_code == 200, clicked.text
    users = [e for e in assistant.tracker(me)["events"] if e["event"] == "user"]
    assert users[-1]["text"] == "/affirm" and users[-1]["parse_data"]["intent"]["name"] == "affirm"
    # after another question, the earlier button still works; a payload from another
    # conversation does not
    assert assistant.say(me, "thanks")
    again = requests.post(f"{assistant.url}/webhooks/rest/webhook", headers=AUTH,
                          json={"sender": me, "message": "/deny"}, timeout=60)
    assert again.status_code == 200, again.text
    elsewhere = requests.post(f"{assistant.url}/webhooks/rest/webhook", headers=AUTH,
                              json={"sender": sender(), "message": "/deny"}, timeout=60)
    assert elsewhere.status_code == 400 and error_code(elsewhere) == "intent_shortcut_refused"


# ------------------------------------------------------------------ size caps and echoes

def test_the_rest_channel_caps_body_and_text(assistant):
    url = f"{assistant.url}/webhooks/rest/webhook"
    huge = requests.post(url, data=b'{"sender": "x", "message": "' + b"a" * 70000 + b'"}',
                         headers={"Content-Type": "application/json", **AUTH}, timeout=60)
    assert huge.status_code == 413 and error_code(huge) == "payload_too_large"
    long = requests.post(url, json={"sender": sender(), "message": "word " * 1200}, headers=AUTH, timeout=60)
    assert long.status_code == 413 and error_code(long) == "message_too_long"
    for body in ({"message": "hi"}, {"sender": sender(), "message": 5}, ["hi"]):
        assert requests.post(url, json=body, headers=AUTH, timeout=60).status_code == 400, body


def test_errors_never_echo_the_request(assistant):
    marker = f"MARK{uuid.uuid4().hex}"
    broken = ('{"sender": "%s", "message": "%s", ' % (marker, marker)).encode()
    base = assistant.url
    token = {"token": assistant.token}
    cases = [
        ("POST", "/webhooks/rest/webhook", {}, {"data": broken, "headers": AUTH}),
        ("POST", "/webhooks/rest/webhook", {}, {"json": {"sender": marker, "message": [marker]},
                                                "headers": AUTH}),
        ("POST", "/webhooks/rest/webhook", {}, {"json": {"sender": marker, "message": marker},
                                                "headers": {"Authorization": f"Bearer {marker}"}}),
        ("POST", "/webhooks/multimodal/webhook", {}, {"data": broken,
                                                      "headers": {"Content-Type": "application/json", **AUTH}}),
        ("POST", "/webhooks/multimodal/webhook", {}, {"files": [("sender", (None, marker)),
                                                                ("metadata", (None, marker)),
                                                                ("message", (None, marker))],
                                                      "headers": AUTH}),
        ("POST", "/webhooks/webchat/speech", {}, {"data": broken}),
        ("POST", "/webhooks/slack/webhook", {}, {"data": broken}),
        ("POST", "/webhooks/voice/turn", {"sender": marker, "format": marker}, {"data": broken, "headers": AUTH}),
        ("POST", "/model/parse", token, {"data": broken}),
        ("POST", f"/conversations/{marker}/tracker/events", token, {"data": broken}),
        ("POST", f"/conversations/{marker}/messages", token, {"data": broken}),
        ("POST", "/conversations/someone/messages", token, {"json": {"text": marker, "sender": marker}}),
    ]
    for method, path, params, extra in cases:
        answer = requests.request(method, base + path, params=params, timeout=60, **extra)
        assert 400 <= answer.status_code < 600, (path, answer.status_code)
        assert marker not in answer.text, (path, answer.status_code, answer.text[:300])
        assert marker not in json.dumps(dict(answer.headers)), path


# ------------------------------------------------------------------ rate limits

@pytest.fixture(scope="module")
def guarded(trained_model, rasa_token, tmp_path_factory):
    """A second Rasa with tiny budgets (3 texts, 1 picture per sender a minute; 2 pictures per
    address) and --cors for one origin, as scripts/run.sh passes RASA_CORS."""
    folder = tmp_path_factory.mktemp("guarded")
    rasa = services.start_rasa(
        "security-rasa", trained_model, services.closed_url(), services.closed_url(),
        folder / "tracker.db", rasa_token, attachments_dir=folder / "attachments",
        extra_env={"PARLEY_RATE_TEXT_PER_MIN": "3", "PARLEY_RATE_MEDIA_PER_MIN": "1",
                   "PARLEY_RATE_ADDRESS_PER_MIN": "100", "PARLEY_RATE_ADDRESS_MEDIA_PER_MIN": "2"},
        extra_args=["--cors", ALLOWED])
    yield rasa.health_url.rstrip("/")
    rasa.stop()


def _limited(answer) -> int:
    assert answer.status_code == 429, (answer.status_code, answer.text[:300])
    assert error_code(answer) == "rate_limited"
    retry_after = int(answer.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    return retry_after


def test_a_sender_over_the_text_budget_gets_429_with_retry_after(guarded):
    me, url = sender(), f"{guarded}/webhooks/rest/webhook"
    for _ in range(3):
        assert requests.post(url, json={"sender": me, "message": "hello"}, headers=AUTH,
                             timeout=120).status_code == 200
    _limited(requests.post(url, json={"sender": me, "message": "hello"}, headers=AUTH, timeout=60))
    # another sender from the same address is still answered
    assert requests.post(url, json={"sender": sender(), "message": "hello"}, headers=AUTH,
                         timeout=120).status_code == 200


def test_pictures_have_a_stricter_budget_per_sender_and_per_address(guarded):
    url = f"{guarded}/webhooks/multimodal/webhook"

    def picture(who):
        return requests.post(url, files=[("sender", (None, who)),
                                         ("attachment", ("p.png", PNG, "image/png"))], headers=AUTH,
                             timeout=120)

    first, second = sender(), sender()
    assert picture(first).status_code == 200
    _limited(picture(first))  # one picture a minute per sender
    assert requests.post(url, files=[("sender", (None, first)), ("message", (None, "hello"))],
                         headers=AUTH, timeout=120).status_code == 200  # text has its own budget
    assert picture(second).status_code == 200
    _limited(picture(sender()))  # two pictures a minute from this address


# ------------------------------------------------------------------ the web chat (socket.io)

def test_the_web_chat_refuses_a_forged_shortcut_and_rate_limits(assistant, guarded):
    import asyncio

    from tests.webchat.client import ChatClient

    async def chat_with(url, messages):
        chat = ChatClient(url)
        await chat.connect()
        results = [await chat.send(message) for message in messages]
        await chat.close()
        return results

    forged, = asyncio.run(chat_with(assistant.url, [FORGED]))
    error = [data for event, data in forged if event == "error"][0]
    assert error["code"] == "intent_shortcut_refused" and "BW-1" not in str(error)
    turns = asyncio.run(chat_with(guarded, ["hello"] * 4))
    assert not [e for e, _ in turns[0] if e == "error"]
    limited = [data for event, data in turns[3] if event == "error"][0]
    assert limited["code"] == "rate_limited" and 1 <= limited["retry_after"] <= 60
