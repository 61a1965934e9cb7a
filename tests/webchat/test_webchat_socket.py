"""The web chat channel over socket.io (websocket and polling clients) and HTTP, against the real Rasa
server, action server and perception service (the session `assistant` fixture, which runs
credentials.yml). Bad input gets an `error` event on a connection that stays usable."""
import asyncio
import re
import uuid
from typing import Any, Dict, List

import requests
import websockets

from attachments.store import AttachmentStore
from channels.sessions import Secrets
from tests import services
from bench.wer import wer
from tests.perception import audio_material as am
from tests.webchat.client import ChatClient, PollingChatClient, bot_texts, has
from tests.webchat.conftest import VOICE_TEXT

MiB = 1024 * 1024
PNG_HEADER = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x02\x00\x00\x00"
HIRO = "hiro.tanaka@example.com"


def run(coroutine):
    return asyncio.run(coroutine)


def stored(assistant) -> set:
    return set(AttachmentStore(assistant.attachments_dir).ids())


def feedback_events(assistant, session_id: str) -> List[Dict[str, Any]]:
    return [e["value"] for e in assistant.tracker(session_id)["events"]
            if e["event"] == "slot" and e["name"] == "feedback"]


# ---------------------------------------------------------------- conversations


def test_text_conversation_with_indexed_bot_messages(assistant):
    async def conversation():
        chat = ChatClient(assistant.url)
        session_id = await chat.connect()
        assert re.fullmatch(r"[0-9a-f]{32}", session_id)
        assert chat.named("webchat_config")[0]["max_attachments"] == 5
        assert chat.named("history")[0] == {"session_id": session_id, "messages": []}
        first = await chat.send("hi, where is my order?")
        assert has("order (number|id)", bot_texts(first))
        assert ("typing", {"on": True}) in first
        second = await chat.send("it's BW-318904")
        third = await chat.send(HIRO)
        await chat.close()
        return session_id, [first, second, third]

    session_id, turns = run(conversation())
    assert "us1109525498" in bot_texts(turns[2])
    indexes = [data["index"] for turn in turns for event, data in turn if event == "bot_uttered"]
    assert indexes == sorted(indexes) and indexes[0] == 0
    bots = [e for e in requests.get(f"{assistant.url}/conversations/{session_id}/tracker",
                                    params={"token": assistant.token}, timeout=30).json()["events"]
            if e["event"] == "bot"]
    # the index is the bot message's position in the tracker
    for turn in turns:
        for event, data in turn:
            if event == "bot_uttered" and "text" in data:
                assert bots[data["index"]]["text"] == data["text"]
    users = [e for e in assistant.tracker(session_id)["events"] if e["event"] == "user"]
    assert {e["input_channel"] for e in users} == {"webchat"}


def test_voice_note_transcript_comes_back_before_the_answer(assistant, material):
    async def voice():
        chat = ChatClient(assistant.url)
        await chat.connect()
        events = await chat.send(attachments=[{"name": "note.wav", "type": "audio/wav",
                                               "data": material["voice"].read_bytes()}], client_id="v1")
        await chat.close()
        return chat.session_id, events

    session_id, events = run(voice())
    names = [event for event, _ in events]
    transcript = next(data for event, data in events if event == "transcript")
    assert transcript["client_id"] == "v1"
    assert {"router", "red", "light"} <= set(am.normalise(transcript["text"]).split()), transcript["text"]
    assert names.index("transcript") < names.index("bot_uttered")
    assert "restart the modem" in bot_texts(events)
    user = [e for e in assistant.tracker(session_id)["events"] if e["event"] == "user"][-1]
    assert user["text"] == transcript["text"] and user["metadata"]["voice"]["transcript"] == transcript["text"]
    assert wer(VOICE_TEXT, transcript["text"]) <= 0.35, transcript["text"]


def test_thumbs_are_appended_to_the_tracker(assistant):
    async def rate():
        chat = ChatClient(assistant.url)
        await chat.connect()
        turn = await chat.send("do you ship to Canada?")
        index = next(data["index"] for event, data in turn if event == "bot_uttered")
        text = next(data["text"] for event, data in turn if event == "bot_uttered")
        for rating in ("down", "up"):
            start = len(chat.events)
            await chat.emit("feedback", {"session_id": chat.session_id, "bot_index": index, "rating": rating})
            await chat.wait_for("feedback_saved", start, lambda d: d == {"bot_index": index, "rating": rating})
        bad = []
        for payload, code in (({"bot_index": 999, "rating": "up"}, "unknown_message"),
                              ({"bot_index": index, "rating": "meh"}, "invalid_feedback"),
                              ({"bot_index": "0", "rating": "up"}, "invalid_feedback")):
            start = len(chat.events)
            await chat.emit("feedback", {"session_id": chat.session_id, **payload})
            _, error = await chat.wait_for("error", start)
            bad.append((error["code"], code))
        await chat.close()
        return chat.session_id, index, text, bad

    session_id, index, text, bad = run(rate())
    assert all(got == want for got, want in bad), bad
    assert feedback_events(assistant, session_id) == [
        {"rating": "down", "bot_index": index, "bot_text": text},
        {"rating": "up", "bot_index": index, "bot_text": text}]


def test_history_is_sent_again_to_the_same_session(assistant):
    async def twice():
        chat = ChatClient(assistant.url)
        session_id = await chat.connect()
        turn = await chat.send("my app keeps saying BW-2002 when I try to sign in")
        index = next(data["index"] for event, data in turn if event == "bot_uttered")
        await chat.emit("feedback", {"session_id": session_id, "bot_index": index, "rating": "up"})
        await chat.wait_for("feedback_saved")
        await chat.close()
        again = ChatClient(assistant.url)
        assert await again.connect(session_id, chat.session_token) == session_id
        await again.close()
        return again.named("history")[0]["messages"], index

    messages, index = run(twice())
    assert messages[0] == {"sender": "user", "text": "my app keeps saying BW-2002 when I try to sign in"}
    bot = next(m for m in messages if m["sender"] == "bot" and m["index"] == index)
    assert "30 minutes" in bot["text"] and bot["rating"] == "up"


def test_no_history_for_a_conversation_of_another_channel(assistant):
    sender = uuid.uuid4().hex  # looks like a web chat session id, but talks over REST
    assert assistant.texts(sender, "my app keeps saying BW-2002 when I try to sign in")

    async def peek():
        chat = ChatClient(assistant.url)
        # with the right token (made here from the test's channel secret) the session is resumed
        await chat.connect(sender, Secrets(services.CHANNEL_SECRET).token(sender))
        await chat.close()
        return chat.session_id, chat.named("history")[0]["messages"]

    assert run(peek()) == (sender, [])


def test_bot_message_from_the_http_api_reaches_the_widget_with_its_index(assistant):
    async def push():
        chat = ChatClient(assistant.url)
        session_id = await chat.connect()
        await chat.send("hello")
        bots = [e for e in assistant.tracker(session_id)["events"] if e["event"] == "bot"]
        start = len(chat.events)
        response = await asyncio.to_thread(
            requests.post, f"{assistant.url}/conversations/{session_id}/tracker/events",
            params={"token": assistant.token, "output_channel": "latest", "execute_side_effects": "true"},
            json=[{"event": "bot", "text": "An agent will write to you here.",
                   "data": {"image": "https://images.example/agent.png"}}], timeout=60)
        assert response.status_code == 200, response.text
        await chat.wait_for("bot_uttered", start, lambda d: "attachment" in d)
        await chat.close()
        return len(bots), chat.named("bot_uttered", start)

    stored_before, pushed = run(push())
    assert pushed == [{"text": "An agent will write to you here.", "index": stored_before},
                      {"attachment": {"type": "image", "payload": {"src": "https://images.example/agent.png"}},
                       "index": stored_before}]


# ---------------------------------------------------------------- bad input over socket.io


def test_bad_input_gets_error_events_and_the_connection_stays_usable(assistant):
    before = stored(assistant)

    async def abuse():
        chat = ChatClient(assistant.url)
        await chat.connect()
        codes = []
        big = PNG_HEADER + b"\x00" * (15 * MiB)  # a picture over max_image_bytes (15 MiB)
        codes.append((await chat.refused("attachment_too_large", attachments=[{"name": "big.png", "data": big}],
                                         client_id="c1"))["client_id"])
        del big
        await chat.refused("unsupported_attachment", "what is this?",
                           [{"name": "screenshot.png", "type": "image/png", "data": b"plain text, not a picture"}])
        await chat.refused("too_many_attachments", "six",
                           [{"name": f"{n}.png", "data": PNG_HEADER} for n in range(6)])
        # three pictures under the per-file cap but over max_total_bytes (40 MiB) together
        part = PNG_HEADER + b"\x00" * (14 * MiB)
        await chat.refused("payload_too_large", "three", [{"data": part}] * 3)
        del part
        await chat.refused("invalid_attachment", attachments=[{"name": "a.png", "data": "iVBORw0KGgo="}])
        await chat.refused("empty_attachment", attachments=[{"name": "a.png", "data": b""}])
        await chat.refused("invalid_metadata", "hi", metadata="{not json")
        await chat.refused("message_too_long", "a" * 5001)
        await chat.refused("empty_message", "   ")
        # still connected, still answered
        answer = await chat.send("do you ship to Canada?")
        connected = chat.connected
        await chat.close()
        return codes, answer, connected

    codes, answer, connected = run(abuse())
    assert codes == ["c1"]
    assert connected and bot_texts(answer)
    assert stored(assistant) == before  # nothing of a refused message is kept


def test_polling_transport_is_checked_the_same_way(assistant):
    async def polling():
        chat = PollingChatClient(assistant.url)
        await chat.connect()
        error = await chat.refused("too_many_attachments", "six", [{"data": PNG_HEADER}] * 6)
        answer = await chat.send("hi")
        await chat.close()
        return error, answer

    error, answer = run(polling())
    assert "at most 5" in error["message"] and bot_texts(answer)


def test_a_foreign_site_cannot_connect(assistant):
    async def connect(origin: str) -> bool:
        chat = ChatClient(assistant.url, headers={"Origin": origin})
        try:
            await chat.connect()
        except websockets.InvalidStatusCode:
            return False
        await chat.close()
        return True

    assert run(connect(assistant.url)) is True  # the server's own origin (the demo page)
    assert run(connect("https://evil.example")) is False


# ---------------------------------------------------------------- HTTP routes


def test_widget_and_demo_page_are_served(assistant):
    page = requests.get(f"{assistant.url}/webhooks/webchat/", timeout=30)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<script src="/webhooks/webchat/widget.js"' in page.text
    script = requests.get(f"{assistant.url}/webhooks/webchat/widget.js", timeout=30)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "session_request" in script.text and "//cdn" not in script.text
    assert requests.get(f"{assistant.url}/webhooks/webchat/health", timeout=30).json() == {"status": "ok"}


def test_speech_route_reads_text_aloud(assistant):
    response = requests.post(f"{assistant.url}/webhooks/webchat/speech", data='{"text": "Your parcel is on its way."}',
                             headers={"Content-Type": "text/plain"}, timeout=120)
    assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
    assert response.content[:4] == b"RIFF" and len(response.content) > 10000
    too_long = requests.post(f"{assistant.url}/webhooks/webchat/speech", json={"text": "a" * 1001}, timeout=30)
    assert too_long.status_code == 413 and too_long.json()["error"]["code"] == "text_too_long"
