"""The web chat channel without a server: options, origin checks, message validation, the bot
message index, the history built from tracker events, the speech route and the widget files."""
import asyncio
import json
from types import SimpleNamespace
from typing import Any, Dict, List

import pytest

from channels.multimodal import RequestRefused
from channels.webchat import WebChatInput
from channels.webchat_output import WebChatOutput, history
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from tests import services

MiB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + b"\x00" * 64


def channel(**options: Any) -> WebChatInput:
    return WebChatInput.from_credentials({"session_persistence": True, **options})


def bound(chat: WebChatInput, data: Any) -> WebChatInput:
    """The channel with socket "sid" confirmed in the session named by data's session_id (the
    server binds a socket to its session at session_request; messages carry none)."""
    if isinstance(data, dict) and data.get("session_id"):
        chat._sessions["sid"] = data.pop("session_id")
    return chat


def refused(code: str, data: Any, **options: Any) -> RequestRefused:
    with pytest.raises(RequestRefused) as caught:
        bound(channel(**options), data)._incoming("sid", data)
    assert caught.value.code == code, caught.value.message
    return caught.value


# ---------------------------------------------------------------- options


def test_options_split_between_socketio_webchat_and_the_intake():
    chat = channel(user_message_evt="say", max_attachments=3, max_image_bytes=MiB, max_speech_chars=50,
                   cors_origins="https://shop.example, https://help.example/")
    assert chat.user_message_evt == "say" and chat.session_persistence
    assert chat.intake.max_attachments == 3 and chat.intake.max_image_bytes == MiB
    assert chat.max_speech_chars == 50
    assert chat.cors_origins == ["https://shop.example", "https://help.example"]
    assert chat.max_frame_bytes > chat.intake.max_total_bytes
    assert chat.config()["max_attachments"] == 3


def test_unknown_option_is_refused_at_start_up():
    with pytest.raises(ValueError, match="unknown option"):
        channel(max_attachmnets=3)


def test_bad_speech_cap_is_refused_at_start_up():
    with pytest.raises(ValueError):
        channel(max_speech_chars=0)


def test_origins(monkeypatch):
    own = {"HTTP_HOST": "chat.example:5005", "wsgi.url_scheme": "http"}
    monkeypatch.setenv("WEBCHAT_ORIGINS", "")
    default = channel()
    assert default.allowed_origin("http://chat.example:5005", own)
    assert default.allowed_origin(None, own)  # not a cross-origin browser request
    assert not default.allowed_origin("https://evil.example", own)
    listed = channel(cors_origins=["https://shop.example"])
    assert listed.allowed_origin("https://shop.example", own)
    assert listed.allowed_origin("http://chat.example:5005", own)
    assert not listed.allowed_origin("https://shop.example.evil.test", own)
    assert channel(cors_origins="*").allowed_origin("https://anyone.example", own)
    monkeypatch.setenv("WEBCHAT_ORIGINS", "https://env.example")
    assert channel().allowed_origin("https://env.example", own)


# ---------------------------------------------------------------- validation of user_uttered


def test_a_valid_message_with_a_picture_and_a_voice_note():
    data = {"session_id": "s1", "message": " hello ", "metadata": '{"page": "help"}',
            "attachments": [{"name": "shot.png", "type": "image/png", "data": PNG}, {"data": bytearray(WAV)}]}
    sender, incoming = bound(channel(), data)._incoming("sid", data)
    assert sender == "s1" and incoming.text == "hello"
    assert [u.kind for u in incoming.uploads] == ["image", "audio"]
    assert incoming.client_metadata == {"page": "help"}


@pytest.mark.parametrize("data, code", [
    ("just a string", "invalid_message"),
    ({"message": "hi"}, "missing_session"),
    ({"session_id": "s", "message": 42}, "invalid_message"),
    ({"session_id": "s", "message": "hi", "metadata": "not json"}, "invalid_metadata"),
    ({"session_id": "s", "message": "hi", "metadata": [1, 2]}, "invalid_metadata"),
    ({"session_id": "s", "attachments": "abc"}, "invalid_attachment"),
    ({"session_id": "s", "attachments": [{"name": "a.png", "data": "iVBORw0KGgo="}]}, "invalid_attachment"),
    ({"session_id": "s", "attachments": [{"name": 5, "data": PNG}]}, "invalid_attachment"),
    ({"session_id": "s", "attachments": [{"data": b""}]}, "empty_attachment"),
    ({"session_id": "s"}, "empty_message"),
    ({"session_id": "s", "message": "   "}, "empty_message"),
    ({"session_id": "s", "message": "a" * 5001}, "message_too_long"),
])
def test_bad_messages_are_refused_with_a_code(data, code):
    refused(code, data)


def test_a_text_file_named_png_is_refused():
    error = refused("unsupported_attachment", {"session_id": "s", "attachments": [
        {"name": "screenshot.png", "type": "image/png", "data": b"this is not a picture at all"}]})
    assert "PNG" in error.message


def test_too_many_files():
    refused("too_many_attachments", {"session_id": "s", "attachments": [{"data": PNG}] * 6})


def test_size_caps_per_kind_and_in_total():
    refused("attachment_too_large", {"session_id": "s", "attachments": [{"data": PNG + b"\x00" * 2048}]},
            max_image_bytes=1024)
    refused("payload_too_large", {"session_id": "s", "attachments": [{"data": PNG + b"\x00" * 600}] * 2},
            max_total_bytes=1024)


# ---------------------------------------------------------------- what is sent


class FakeSio:
    def __init__(self) -> None:
        self.sent: List[tuple] = []

    async def emit(self, event: str, data: Any = None, room: Any = None, **kwargs: Any) -> None:
        self.sent.append((event, data, room))


def test_bot_messages_carry_their_index_in_the_conversation():
    sio = FakeSio()
    counted: List[str] = []

    async def count(sender: str) -> int:
        counted.append(sender)
        return 7

    async def turn() -> None:
        output = WebChatOutput(sio, "bot_uttered", count)
        await output.send_response("room1", {"text": "first\n\nsame message"})
        await output.send_response("room1", {"text": "pick one", "buttons": [{"title": "A", "payload": "/a"}]})
        await output.send_response("room1", {"text": "look", "image": "https://img.example/a.png"})
        await output.send_response("room1", {"custom": {"kind": "card"}})

    asyncio.run(turn())
    payloads = [data for _, data, _ in sio.sent]
    assert counted == ["room1"]  # the stored count is read once per turn
    assert payloads == [
        {"text": "first\n\nsame message", "index": 7},
        {"text": "pick one", "quick_replies": [{"content_type": "text", "title": "A", "payload": "/a"}], "index": 8},
        {"text": "look", "index": 9},
        {"attachment": {"type": "image", "payload": {"src": "https://img.example/a.png"}}, "index": 9},
        {"custom": {"kind": "card"}, "index": 10},
    ]
    assert {room for _, _, room in sio.sent} == {"room1"}


def test_history_from_tracker_events():
    events = [
        ActionExecuted("action_listen"),
        UserUttered("where is my order?", input_channel="webchat"),
        BotUttered("Your order number, please?", data={"buttons": [{"title": "I don't know", "payload": "/deny"}]}),
        UserUttered("/deny", input_channel="webchat"),
        BotUttered("Find it in your e-mail.\n\nOr ask [an agent](https://help.example/agent)."),
        UserUttered("[image]", input_channel="webchat", metadata={"attachments": [
            {"id": "att_" + "0" * 32, "kind": "image", "format": "png", "size": 10}]}),
        BotUttered("I can see error BW-2002."),
        UserUttered("my router has a red light", input_channel="webchat",
                    metadata={"attachments": [{"kind": "audio", "format": "webm"}],
                              "voice": {"transcript": "my router has a red light"}}),
        SlotSet("feedback", {"rating": "down", "bot_index": 2, "bot_text": "I can see error BW-2002."}),
        SlotSet("feedback", {"rating": "up", "bot_index": 2, "bot_text": "I can see error BW-2002."}),
        SlotSet("feedback", {"rating": "sideways", "bot_index": 0}),
    ]
    shown = asyncio.run(history(events))
    assert shown[0] == {"sender": "user", "text": "where is my order?"}
    assert shown[1]["index"] == 0 and shown[1]["quick_replies"][0]["title"] == "I don't know"
    assert "rating" not in shown[1]
    assert shown[2] == {"sender": "user", "text": "I don't know"}  # the button's title, not its payload
    assert shown[3]["index"] == 1 and "[an agent]" in shown[3]["text"]
    assert shown[4] == {"sender": "user", "text": "", "attachments": [{"kind": "image", "format": "png"}]}
    assert shown[5]["index"] == 2 and shown[5]["rating"] == "up"  # the latest rating counts
    assert shown[6]["voice"] is True and shown[6]["text"] == "my router has a red light"


# ---------------------------------------------------------------- HTTP routes, called directly


def fake_request(body: bytes, origin: str = None) -> Any:
    headers = {"host": "127.0.0.1:5005"}
    if origin:
        headers["origin"] = origin
    # no stream and no client address: the body is read as it is, no rate limit applies
    return SimpleNamespace(body=body, headers=headers, scheme="http", ctx=SimpleNamespace(), stream=None)


def answer(result) -> Dict[str, Any]:
    return {"status": result.status, "type": result.content_type, "headers": dict(result.headers),
            "json": json.loads(result.body) if result.content_type.startswith("application/json") else None}


@pytest.mark.parametrize("body, status, code", [
    (b"not json", 400, "invalid_body"),
    (b'{"text": ""}', 400, "missing_text"),
    (b'{"text": 5}', 400, "missing_text"),
    (b'["text"]', 400, "missing_text"),
    (json.dumps({"text": "a" * 1001}).encode(), 413, "text_too_long"),
])
def test_speech_route_refuses_bad_requests(body, status, code):
    result = answer(asyncio.run(channel()._speech(fake_request(body))))
    assert result["status"] == status and result["json"]["error"]["code"] == code


def test_speech_route_with_perception_down_is_a_503():
    chat = channel(perception_url=services.closed_url(), perception_timeout=5)
    result = answer(asyncio.run(chat._speech(fake_request(b'{"text": "hello"}'))))
    assert result["status"] == 503 and result["json"]["error"]["code"] == "speech_unavailable"


def test_speech_reads_a_bounded_number_of_texts_at_once(perception_url):
    """Read-aloud cannot crowd out voice calls: one text at a time here, the others wait
    speech_wait_s, then 503 speech_busy with Retry-After; the slot is freed afterwards."""
    chat = channel(perception_url=perception_url, max_concurrent_speech=1, speech_wait_s=0.2)
    text = json.dumps({"text": "Your order has shipped and should arrive on Thursday. " * 8}).encode()

    async def three_at_once():
        return await asyncio.gather(*(chat._speech(fake_request(text)) for _ in range(3)))

    results = [answer(result) for result in asyncio.run(three_at_once())]
    assert sorted(result["status"] for result in results) == [200, 503, 503], results
    for busy in (result for result in results if result["status"] == 503):
        assert busy["json"]["error"]["code"] == "speech_busy" and busy["headers"]["Retry-After"] == "2"
    assert chat._speaking == 0
    again = answer(asyncio.run(chat._speech(fake_request(b'{"text": "Thanks for waiting."}'))))
    assert again["status"] == 200 and again["type"] == "audio/wav"


def test_speech_concurrency_options_are_checked():
    for options in ({"max_concurrent_speech": 0}, {"speech_wait_s": -1}, {"speech_wait_s": 600}):
        with pytest.raises(ValueError):
            channel(**options)


def test_speech_route_refuses_a_foreign_site(monkeypatch):
    monkeypatch.setenv("WEBCHAT_ORIGINS", "")
    result = answer(asyncio.run(channel()._speech(fake_request(b'{"text": "hi"}', "https://evil.example"))))
    assert result["status"] == 403 and result["json"]["error"]["code"] == "origin_not_allowed"


def test_speech_route_answers_an_embedding_site_with_cors_headers(monkeypatch):
    chat = channel(cors_origins="https://shop.example", perception_url=services.closed_url())
    request = fake_request(b'{"text": "hi"}', "https://shop.example")
    result = answer(asyncio.run(chat._speech(request)))
    assert result["status"] == 503  # perception is down here, but the site may read the answer
    assert result["headers"]["Access-Control-Allow-Origin"] == "https://shop.example"
    assert getattr(request.ctx, "_sanic_cors_e") == "1"  # Rasa's --cors adds no second header


def test_widget_not_built_is_a_clear_503(tmp_path):
    result = answer(asyncio.run(channel(widget_dir=str(tmp_path))._static("widget.js")))
    assert result["status"] == 503 and result["json"]["error"]["code"] == "widget_not_built"
    (tmp_path / "widget.js").write_text("console.log(1)")
    served = asyncio.run(channel(widget_dir=str(tmp_path))._static("widget.js"))
    assert served.status == 200 and served.content_type.startswith("application/javascript")
