"""The multimodal channel (POST /webhooks/multimodal/webhook) end to end: the real Rasa server,
action server and perception service, voice notes spoken by espeak-ng, screenshots rendered by
Chromium, and the bad inputs. A few channel-only checks (a perception service that hangs, a
chunked body over the cap) run the channel in this process with a stand-in for Rasa."""
import hashlib
import json
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Dict, List

import pytest
import requests

from attachments.store import AttachmentStore, is_valid_id
from tests import services
from tests.perception import audio_material as am
from tests.perception import image_material as im

MiB = 1024 * 1024


def sender() -> str:
    return f"mm-{uuid.uuid4().hex[:10]}"


def bot_texts(answer: List[dict]) -> List[str]:
    return [m["text"] for m in answer if "text" in m]


def joined(answer: List[dict]) -> str:
    return " ".join(bot_texts(answer)).lower()


def user_events(tracker: dict) -> List[dict]:
    return [e for e in tracker.get("events", []) if e.get("event") == "user"]


def stored_ids(assistant) -> set:
    return set(AttachmentStore(assistant.attachments_dir).ids())


@pytest.fixture(scope="module")
def audio(tmp_path_factory) -> Dict[str, bytes]:
    """Voice notes: espeak-ng speech as WAV and Ogg/Opus, and three seconds of silence."""
    folder = tmp_path_factory.mktemp("voice")
    wav = am.espeak("where is my order", folder / "order.wav")
    ogg = am.encode(wav, folder, ["ogg"])["ogg"]
    return {"order.wav": wav.read_bytes(), "order.ogg": ogg.read_bytes(), "silence.wav": am.silence(3.0)}


@pytest.fixture(scope="module")
def pictures(tmp_path_factory) -> Path:
    return im.material(tmp_path_factory)


# ---------------------------------------------------------------- through the real assistant


def test_health_and_text_only_json(assistant):
    assert requests.get(f"{assistant.url}/webhooks/multimodal/", timeout=10).json() == {"status": "ok"}
    me = sender()
    response = requests.post(f"{assistant.url}/webhooks/multimodal/webhook", headers=services.channel_auth(),
                             json={"sender": me, "message": "hi, where is my order?",
                                   "metadata": {"app": "web"}},
                             timeout=120)
    assert response.status_code == 200
    answer = response.json()
    assert all(m["recipient_id"] == me for m in answer)
    assert "order number" in joined(answer) or "order id" in joined(answer)
    event = user_events(assistant.tracker(me))[-1]
    assert event["input_channel"] == "multimodal"
    assert event["metadata"]["client"] == {"app": "web"}
    assert event["metadata"]["attachments"] == []


def test_voice_note_transcript_is_the_user_text(assistant, audio):
    me = sender()
    before = stored_ids(assistant)
    response = assistant.send(me, files=[("note.ogg", audio["order.ogg"])], metadata={"device": "phone"})
    assert response.status_code == 200, response.text
    answer = response.json()
    first = answer[0]
    assert set(first) == {"recipient_id", "custom"} and first["recipient_id"] == me
    transcript = first["custom"]["transcript"]
    assert am.missing_words(transcript, ["where", "my", "order"]) == [], transcript
    assert bot_texts(answer[1:]), "the voice note got no answer"

    event = user_events(assistant.tracker(me))[-1]
    assert event["text"] == transcript
    assert event["input_channel"] == "multimodal"
    metadata = event["metadata"]
    [ref] = metadata["attachments"]
    assert is_valid_id(ref["id"])
    assert (ref["kind"], ref["format"], ref["mime"]) == ("audio", "ogg", "audio/ogg")
    assert ref["sha256"] == hashlib.sha256(audio["order.ogg"]).hexdigest()
    assert ref["size"] == len(audio["order.ogg"])
    assert metadata["voice"]["attachment_id"] == ref["id"]
    assert metadata["voice"]["transcript"] == transcript
    assert metadata["voice"]["language"] == "en"
    assert 0.5 < metadata["voice"]["duration"] < 10
    assert metadata["client"] == {"device": "phone"}
    # references only: no raw bytes, no embedding
    serialised = json.dumps(metadata)
    assert len(serialised) < 3000 and "embedding" not in serialised
    # the file itself is in the store
    assert stored_ids(assistant) - before == {ref["id"]}
    assert AttachmentStore(assistant.attachments_dir).read(ref["id"]) == audio["order.ogg"]


def test_voice_note_is_answered_like_the_same_words_typed(assistant, audio):
    spoken, typed = sender(), sender()
    by_voice = assistant.send(spoken, files=[("note.wav", audio["order.wav"])]).json()
    by_text = assistant.say(typed, "where is my order")
    assert "custom" in by_voice[0]
    assert bot_texts(by_voice[1:]) == bot_texts(by_text)
    assert bot_texts(by_text)
    intent = [user_events(assistant.tracker(s))[-1]["parse_data"]["intent"]["name"] for s in (spoken, typed)]
    assert intent[0] == intent[1]


def test_typed_words_come_first_then_the_transcript(assistant, audio):
    me = sender()
    answer = assistant.send(me, text="hello,", files=[("note.ogg", audio["order.ogg"])]).json()
    transcript = answer[0]["custom"]["transcript"]
    assert user_events(assistant.tracker(me))[-1]["text"] == f"hello, {transcript}"


def test_image_is_stored_with_its_sha256_and_analysis(assistant, pictures):
    me = sender()
    png = (pictures / "error_page.png").read_bytes()
    response = assistant.send(me, files=[("screenshot.png", png)])
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list) and response.json()
    event = user_events(assistant.tracker(me))[-1]
    assert event["text"] == "[image]"
    [ref] = event["metadata"]["attachments"]
    assert (ref["kind"], ref["format"], ref["mime"], ref["size"]) == ("image", "png", "image/png", len(png))
    assert ref["sha256"] == hashlib.sha256(png).hexdigest()
    assert "embedding" not in json.dumps(event["metadata"])
    store = AttachmentStore(assistant.attachments_dir)
    on_disk = store.path(ref["id"])
    assert on_disk.is_file() and hashlib.sha256(on_disk.read_bytes()).hexdigest() == ref["sha256"]
    assert store.ref(ref["id"]) == ref
    analysis = store.analysis(ref["id"])
    assert analysis is not None
    assert analysis["kind"] == "screenshot"
    assert len(analysis["embedding"]) == 1280 and analysis["labels"]
    assert "BW-1001" in analysis["ocr"]["text"]


def test_image_with_words_keeps_the_words(assistant, pictures):
    me = sender()
    png = (pictures / "error_page.png").read_bytes()
    assert assistant.send(me, text="what does this mean?", files=[("s.png", png)]).status_code == 200
    event = user_events(assistant.tracker(me))[-1]
    assert event["text"] == "what does this mean?"
    assert [r["kind"] for r in event["metadata"]["attachments"]] == ["image"]


# ------------------------------------------------------------------------------ bad inputs


def test_text_file_named_png_is_explained_and_the_words_still_answered(assistant):
    me = sender()
    before = stored_ids(assistant)
    response = assistant.send(me, text="where is my order", files=[("photo.png", b"just some notes\n" * 40)])
    assert response.status_code == 200
    answer = response.json()
    assert "couldn't open" in answer[0]["text"].lower() and "png" in answer[0]["text"].lower()
    assert "order number" in joined(answer[1:])
    event = user_events(assistant.tracker(me))[-1]
    assert event["text"] == "where is my order" and event["metadata"]["attachments"] == []
    assert stored_ids(assistant) == before  # the text file was not kept


def test_only_a_file_that_is_not_an_image(assistant):
    me = sender()
    before = stored_ids(assistant)
    response = assistant.send(me, files=[("photo.png", b"just some notes\n" * 40)])
    assert response.status_code == 200
    [note] = response.json()
    assert "couldn't open" in note["text"].lower()
    assert user_events(assistant.tracker(me)) == []  # nothing reached the assistant
    assert stored_ids(assistant) == before


def test_silent_voice_note_is_explained_and_the_conversation_goes_on(assistant, audio):
    me = sender()
    response = assistant.send(me, files=[("quiet.wav", audio["silence.wav"])])
    assert response.status_code == 200
    answer = response.json()
    assert not any("custom" in m for m in answer)
    assert "couldn't hear any words" in joined(answer)
    assert user_events(assistant.tracker(me)) == []
    assert "order number" in assistant.texts(me, "where is my order?")


def test_silent_voice_note_with_typed_words(assistant, audio):
    me = sender()
    answer = assistant.send(me, text="where is my order", files=[("quiet.wav", audio["silence.wav"])]).json()
    assert "couldn't hear any words" in answer[0]["text"].lower()
    assert "order number" in joined(answer[1:])
    event = user_events(assistant.tracker(me))[-1]
    assert event["text"] == "where is my order" and "voice" not in event["metadata"]


def test_twelve_attachments_are_refused_whole(assistant, pictures):
    me = sender()
    before = stored_ids(assistant)
    tiny = (pictures / "tiny.png").read_bytes()
    response = assistant.send(me, text="look at these", files=[(f"p{i}.png", tiny) for i in range(12)])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "too_many_attachments"
    assert "5" in response.json()["error"]["message"]
    assert stored_ids(assistant) == before
    assert user_events(assistant.tracker(me)) == []


def test_oversized_file_is_refused(assistant):
    me = sender()
    before = stored_ids(assistant)
    big_png = b"\x89PNG\r\n\x1a\n" + b"\x00" * (15 * MiB)
    response = assistant.send(me, text="here", files=[("big.png", big_png)])
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "attachment_too_large"
    assert stored_ids(assistant) == before
    assert user_events(assistant.tracker(me)) == []


def test_a_body_over_the_total_cap_is_refused_before_it_is_read(assistant):
    """Only the headers are sent: the answer comes from Content-Length alone."""
    host, port = assistant.url.rsplit("//", 1)[1].split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(b"POST /webhooks/multimodal/webhook HTTP/1.1\r\nHost: test\r\n"
                           + f"Authorization: Bearer {services.CHANNEL_SECRET}\r\n".encode()
                           + b"Content-Type: multipart/form-data; boundary=xyz\r\n"
                             b"Content-Length: 1073741824\r\n\r\n")
        head = connection.recv(65536)
    assert head.startswith(b"HTTP/1.1 413"), head[:200]
    assert b"payload_too_large" in head


@pytest.mark.parametrize("fields, code", [
    ({"sender": None, "text": "where is my order"}, "missing_sender"),
    ({"sender": "", "text": "where is my order"}, "missing_sender"),
    ({"text": "hi", "metadata": "{not json"}, "invalid_metadata"),
    ({"text": "hi", "metadata": "[1, 2]"}, "invalid_metadata"),
    ({"text": "hi", "metadata": "\"a string\""}, "invalid_metadata"),
    ({"text": None}, "empty_message"),
    ({"text": "hi", "files": [("empty.png", b"")]}, "empty_attachment"),
])
def test_client_mistakes_get_a_json_error(assistant, fields, code):
    fields = dict(fields)
    me = fields.pop("sender", sender())
    response = assistant.send(me, **fields)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code and error["message"]
    if me:
        assert user_events(assistant.tracker(me)) == []


def test_a_picture_the_service_cannot_decode(assistant, pictures):
    me = sender()
    png = (pictures / "invoice.png").read_bytes()
    before = stored_ids(assistant)
    answer = assistant.send(me, text="where is my order", files=[("cut.png", png[: len(png) // 2])]).json()
    assert "couldn't open the picture" in answer[0]["text"].lower()
    assert "order number" in joined(answer[1:])
    assert user_events(assistant.tracker(me))[-1]["metadata"]["attachments"] == []
    assert stored_ids(assistant) == before


# ------------------------------------------------------------------- perception service down


def test_voice_note_without_perception_gets_an_apology(assistant_without_perception, audio):
    bot = assistant_without_perception
    me = sender()
    response = bot.send(me, files=[("note.ogg", audio["order.ogg"])])
    assert response.status_code == 200
    answer = response.json()
    assert not any("custom" in m for m in answer)
    assert "sorry" in joined(answer) and "voice note" in joined(answer)
    assert user_events(bot.tracker(me)) == []
    # the conversation goes on: typed words get the usual answer
    assert "order number" in bot.texts(me, "hi, where is my order?")


def test_typed_words_beside_a_voice_note_are_answered_without_perception(assistant_without_perception, audio):
    bot = assistant_without_perception
    me = sender()
    answer = bot.send(me, text="where is my order", files=[("note.ogg", audio["order.ogg"])]).json()
    assert "sorry" in answer[0]["text"].lower() and "voice note" in answer[0]["text"].lower()
    assert "order number" in joined(answer[1:])
    event = user_events(bot.tracker(me))[-1]
    assert event["text"] == "where is my order"
    [ref] = event["metadata"]["attachments"]  # kept: an agent can still listen to it
    assert ref["kind"] == "audio" and "voice" not in event["metadata"]


def test_image_without_perception_still_reaches_the_assistant(assistant_without_perception, pictures):
    bot = assistant_without_perception
    me = sender()
    png = (pictures / "error_page.png").read_bytes()
    response = bot.send(me, files=[("s.png", png)])
    assert response.status_code == 200 and isinstance(response.json(), list)
    event = user_events(bot.tracker(me))[-1]
    assert event["text"] == "[image]"
    [ref] = event["metadata"]["attachments"]
    store = AttachmentStore(bot.attachments_dir)
    assert store.read(ref["id"]) == png
    assert store.analysis(ref["id"]) is None


# ------------------------------------------------- the channel alone, with a stand-in for Rasa


class Hanging:
    """A TCP server that accepts connections and never answers: a perception service that hangs."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        self.connections: list = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.server.close()


def serve_channel(channel, monkeypatch) -> tuple:
    """The channel's blueprint on a Sanic server in a thread; messages go to a list, not Rasa."""
    from sanic import Sanic

    from channels import sessions

    # outside test mode Sanic rewrites its HTTP methods at each start, once per process only
    monkeypatch.setattr(Sanic, "test_mode", True)
    # the channel secret, as Rasa started by the tests has it (services.channel_auth())
    monkeypatch.setenv(sessions.SECRET_ENV, services.CHANNEL_SECRET)
    sessions.keys.cache_clear()

    received: list = []

    async def on_new_message(message) -> None:
        received.append(message)
        await message.output_channel.send_text_message(message.sender_id, f"echo: {message.text}")

    app = Sanic(f"multimodal_test_{uuid.uuid4().hex[:8]}", configure_logging=False)
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/multimodal")
    port = services.serve_in_thread(app)
    return f"http://127.0.0.1:{port}/webhooks/multimodal/webhook", received


@pytest.fixture
def hanging():
    server = Hanging()
    yield server
    server.close()


def test_a_perception_service_that_hangs_gets_an_apology_within_the_timeout(tmp_path, monkeypatch, hanging,
                                                                            audio):
    from channels.multimodal import MultimodalInput

    channel = MultimodalInput(perception_timeout=2, perception_url=hanging.url,
                              attachments_dir=str(tmp_path / "attachments"))
    url, received = serve_channel(channel, monkeypatch)
    started = time.monotonic()
    response = requests.post(url, headers=services.channel_auth(),
                             data={"sender": "someone", "message": "where is my order"},
                             files=[("attachment", ("note.ogg", audio["order.ogg"]))], timeout=60)
    elapsed = time.monotonic() - started
    assert response.status_code == 200
    answer = response.json()
    assert "sorry" in answer[0]["text"].lower() and "voice note" in answer[0]["text"].lower()
    assert answer[1]["text"] == "echo: where is my order"
    assert elapsed < 15, elapsed  # the 2 s timeout, not the HTTP client's minute
    [message] = received
    assert message.input_channel == "multimodal"
    assert [r["kind"] for r in message.metadata["attachments"]] == ["audio"]


def test_a_chunked_body_over_the_cap_is_cut_off(tmp_path, monkeypatch):
    from channels.multimodal import MultimodalInput

    channel = MultimodalInput(max_total_bytes=2 * MiB, attachments_dir=str(tmp_path / "attachments"))
    url, received = serve_channel(channel, monkeypatch)

    def body():
        for _ in range(64):  # 64 MiB offered, no Content-Length
            yield b"x" * MiB

    try:
        response = requests.post(url, data=body(), timeout=60,
                                 headers={"Content-Type": "multipart/form-data; boundary=xyz",
                                          **services.channel_auth()})
    except requests.ConnectionError:
        pass  # the server may close the connection while the client is still sending
    else:
        assert response.status_code == 413
        assert response.json()["error"]["code"] == "payload_too_large"
    assert received == []
    assert not (tmp_path / "attachments").exists()


def test_channel_options_are_checked():
    from channels.multimodal import MultimodalInput

    channel = MultimodalInput.from_credentials({"max_attachments": 3, "perception_timeout": 7.5})
    assert (channel.max_attachments, channel.perception_timeout) == (3, 7.5)
    assert MultimodalInput.from_credentials(None).max_attachments == 5
    with pytest.raises(ValueError):
        MultimodalInput.from_credentials({"max_attachment": 3})  # misspelt
    with pytest.raises(ValueError):
        MultimodalInput.from_credentials({"max_image_bytes": 0})
