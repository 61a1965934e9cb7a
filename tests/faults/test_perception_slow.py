"""The perception service slow (behind a DelayProxy holding every request for two minutes):
typed words are still answered (the featurizers fall back to zero sentence vectors), a voice
note or a picture sent to the multimodal channel gets a clear apology after perception_timeout
(credentials.yml: 20 s) instead of a hang, and once the service is fast again the
next voice note and picture are transcribed and analysed, without restarting anything.
Perception DOWN is tested in tests/channels/test_multimodal_channel.py and tests/e2e."""
import struct
import uuid
import zlib

import pytest

from attachments.store import AttachmentStore
from tests.perception import audio_material as am
from tests.perception.image_material import png_chunk

SLOW_S = 120  # far over every perception timeout (channel 20 s, featurizers 5 s, analyzer 3 s)


def sender() -> str:
    return f"faults-{uuid.uuid4().hex[:10]}"


def texts(answer: list) -> str:
    return " ".join(m.get("text", "") for m in answer).lower()


def gradient_png(size: int = 96) -> bytes:
    rows = b"".join(b"\x00" + bytes(value for x in range(size)
                                     for value in (x * 2 % 256, y * 2 % 256, (x + y) % 256))
                    for y in range(size))
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(rows)) + png_chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def voice_note(tmp_path_factory, perception_url) -> bytes:
    from perception.client import PerceptionClient

    note = am.espeak("where is my order", tmp_path_factory.mktemp("faults-voice") / "order.wav").read_bytes()
    # the service's first transcription and analysis (warm-up) straight, not through the proxy
    client = PerceptionClient(base_url=perception_url, timeout=120, media_timeout=120)
    assert "order" in client.transcribe(note)["text"].lower()
    client.analyze_image(gradient_png())
    return note


@pytest.fixture
def slow(healthy):
    healthy.perception_proxy.delay = SLOW_S
    yield healthy
    healthy.perception_proxy.delay = 0


def test_typed_words_are_answered_while_perception_is_slow(slow):
    me = sender()
    first = slow.texts(me, "where is my order BW-318904")
    assert "e-mail" in first or "email" in first
    assert "us1109525498" in slow.texts(me, "hiro.tanaka@example.com")


def test_voice_note_gets_an_apology_while_perception_is_slow(slow, voice_note):
    me = sender()
    response = slow.send(me, files=[("note.wav", voice_note)])
    assert response.status_code == 200
    answer = response.json()
    assert not any("custom" in m for m in answer)  # no transcript
    assert "sorry" in texts(answer) and "voice note" in texts(answer)


def test_picture_gets_an_apology_while_perception_is_slow(slow):
    me = sender()
    response = slow.send(me, text="what is this?", files=[("photo.png", gradient_png())])
    assert response.status_code == 200
    assert "can't look at pictures right now" in texts(response.json())
    [event] = [e for e in slow.events(me) if e["event"] == "user"]
    [ref] = event["metadata"]["attachments"]
    assert AttachmentStore(slow.attachments_dir).analysis(ref["id"]) is None  # kept, not analysed


def test_perception_fast_again_is_used_without_restarts(slow, voice_note):
    me = sender()
    assert "sorry" in texts(slow.send(me, files=[("note.wav", voice_note)]).json())
    slow.perception_proxy.delay = 0
    answer = slow.send(me, files=[("note.wav", voice_note)]).json()
    [transcript] = [m["custom"]["transcript"] for m in answer if "custom" in m]
    assert "order" in transcript.lower()
    assert "order number" in texts(answer) or "order id" in texts(answer)
    picture = slow.send(me, files=[("photo.png", gradient_png())])
    assert picture.status_code == 200
    event = [e for e in slow.events(me) if e["event"] == "user"][-1]
    [ref] = event["metadata"]["attachments"]
    assert AttachmentStore(slow.attachments_dir).analysis(ref["id"]) is not None
