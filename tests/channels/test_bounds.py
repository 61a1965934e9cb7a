"""channels/bounds.py on its own: JSON depth checked before parsing, lone surrogates, the metadata
cap, the pixels of a message's pictures; and the channels' intake (MultimodalInput.check) and the
voice channel's control messages using them. Slack's signed bodies go through the channel's own
route on a Sanic server in this process (the test Rasa has no Slack app configured)."""
import io
import json
import struct
import time
import zlib

import pytest

from channels import bounds
from channels.multimodal import MultimodalInput, RequestRefused


def refused(call, *args, **kwargs) -> RequestRefused:
    with pytest.raises(RequestRefused) as caught:
        call(*args, **kwargs)
    return caught.value


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares width x height and holds a few bytes of pixels (a header as large as
    the pictures of the issue, 131 KB for 6300 x 6300, without making them)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


# ------------------------------------------------------------------ depth


@pytest.mark.parametrize("raw", [nested(5000), "[" * 5000, '{"a":' * 33 + "1" + "}" * 33,
                                 json.dumps({"sender": "x", "metadata": json.loads(nested(40))})])
def test_deep_json_is_refused_before_it_is_parsed(raw):
    for form in (raw, raw.encode()):
        refusal = refused(bounds.loads_bounded, form)
        assert (refusal.status, refusal.code) == (400, "too_deeply_nested")


def test_json_up_to_the_limit_is_parsed():
    assert bounds.loads_bounded('{"a":' * 32 + "1" + "}" * 32) is not None
    assert bounds.loads_bounded(b'{"a": [1, {"b": [2, 3]}], "c": "x"}') == {"a": [1, {"b": [2, 3]}], "c": "x"}
    assert bounds.loads_bounded("[]" * 0 + "[" + "[]," * 5000 + "[]]") is not None  # wide, not deep


def test_brackets_inside_strings_do_not_count():
    text = "[" * 200 + '\\"' + "{" * 200 + "\\\\"
    document = json.dumps({"message": text, "metadata": {"note": "]" * 50 + '"[' * 50}})
    assert bounds.loads_bounded(document)["message"] == text
    # an escaped backslash before a closing quote ends the string: the brackets after it count
    assert refused(bounds.loads_bounded, '["\\\\", ' + nested(40) + "]").code == "too_deeply_nested"


def test_unbalanced_brackets_are_not_json():
    with pytest.raises(ValueError):
        bounds.loads_bounded("]" * 40 + "[" * 20)
    with pytest.raises(ValueError):
        bounds.loads_bounded('{"a": [1}')


def test_the_depth_scan_is_linear():
    wide = json.dumps({"items": [[{"a": "b" * 10, "c": [1, 2]}] * 2] * 100_000}).encode()  # 6.7 MB
    started = time.monotonic()
    bounds.check_depth(wide)
    assert time.monotonic() - started < 3.0


# ------------------------------------------------------------------ text and metadata


@pytest.mark.parametrize("value", ["\ud800", "ok \udfff", {"a": "\ud83d"}, {"\udc00": 1}, [[["x\ud800"]]],
                                   {"a": [{"b": "\udbff"}]}])
def test_lone_surrogates_are_refused_anywhere(value):
    assert refused(bounds.check_value, value).code == "invalid_text"


def test_real_characters_pass():
    bounds.check_value({"text": "caf\u00e9 \U0001F600 \u4e2d\u6587", "k\u00e9y": ["\u2603"]})
    assert json.loads('"\\ud83d\\ude00"') == "\U0001F600"  # an escaped pair is one character
    bounds.check_text(json.loads('"\\ud83d\\ude00"'))


def test_deep_values_are_refused_without_recursion():
    value: list = []
    inner = value
    for _ in range(100_000):  # far past Python's recursion limit
        inner.append([])
        inner = inner[0]
    assert refused(bounds.check_value, value).code == "too_deeply_nested"


def test_metadata_over_the_cap_is_refused_fast():
    values = ({"blob": "x" * 5_000_000}, {f"k{i}": i for i in range(500_000)}, {"list": list(range(1_000_000))})
    started = time.monotonic()
    for metadata in values:
        refusal = refused(bounds.check_metadata, metadata)
        assert (refusal.status, refusal.code) == (413, "metadata_too_large")
    assert time.monotonic() - started < 0.5  # the walk stops at the cap


def test_the_metadata_cap_counts_compact_utf8_bytes():
    def of_size(size: int, char: str = "a") -> dict:
        padding = size - len(json.dumps({"k": ""}, separators=(",", ":")))
        return {"k": char * (padding // len(char.encode()))}

    bounds.check_metadata(of_size(8192))
    assert refused(bounds.check_metadata, of_size(8193)).code == "metadata_too_large"
    bounds.check_metadata(of_size(8190, "\u00e9"))  # 2 bytes each in UTF-8
    assert refused(bounds.check_metadata, {"k": "\u00e9" * 4100}).code == "metadata_too_large"
    bounds.check_metadata({"k": "x" * 100}, max_bytes=200)
    assert refused(bounds.check_metadata, {"k": "x" * 300}, max_bytes=200).code == "metadata_too_large"


# ------------------------------------------------------------------ pixels


def test_pixels_come_from_the_headers():
    from PIL import Image

    assert bounds.image_pixels(png_header(6300, 6300), "png") == 6300 * 6300
    for fmt, name in (("jpeg", "JPEG"), ("webp", "WEBP"), ("png", "PNG")):
        buffer = io.BytesIO()
        Image.new("RGB", (123, 45), "white").save(buffer, name)
        assert bounds.image_pixels(buffer.getvalue(), fmt) == 123 * 45, fmt
    assert bounds.image_pixels(b"\x89PNG\r\n\x1a\n broken", "png") is None
    assert bounds.image_pixels(png_header(20000, 20000), "png") == -1  # Pillow: a decompression bomb


def test_a_message_over_the_pixel_total_is_refused():
    phone = png_header(4032, 3024)  # 12 MP
    assert bounds.check_pixels([(phone, "png")] * 5) == 5 * 4032 * 3024
    refusal = refused(bounds.check_pixels, [(png_header(6300, 6300), "png")] * 5)
    assert (refusal.status, refusal.code) == (413, "too_many_pixels")
    assert refused(bounds.check_pixels, [(phone, "png")] * 2, max_pixels=20_000_000).code == "too_many_pixels"
    assert refused(bounds.check_pixels, [(png_header(20000, 20000), "png")]).code == "too_many_pixels"


# ------------------------------------------------------------------ the intake uses them


def test_the_intake_checks_text_metadata_and_pixels(tmp_path):
    intake = MultimodalInput(attachments_dir=str(tmp_path), max_metadata_bytes=1000,
                             max_pixels_per_message=60_000_000)
    assert intake.check("me", "hi", {"app": "web"}, []).client_metadata == {"app": "web"}
    assert refused(intake.check, "me\ud800", "hi", None, []).code == "invalid_text"
    assert refused(intake.check, "me", "hi \udc00", None, []).code == "invalid_text"
    assert refused(intake.check, "me", "hi", {"a": "\ud800"}, []).code == "invalid_text"
    assert refused(intake.check, "me", "hi", {"a": "x" * 1000}, []).code == "metadata_too_large"
    assert len(intake.check("me", None, None, [png_header(4032, 3024)] * 4).uploads) == 4
    assert refused(intake.check, "me", None, None, [png_header(6300, 6300)] * 2).code == "too_many_pixels"


def test_the_intake_parses_json_bodies_bounded(tmp_path):
    intake = MultimodalInput(attachments_dir=str(tmp_path))
    body = '{"sender": "me", "message": "hi", "metadata": {"a": ' + nested(5000) + "}}"
    assert refused(intake._parse_json, body.encode()).code == "too_deeply_nested"
    assert refused(intake._parse_json, b'{"sender": "me", "message": "\\ud800"}').code == "invalid_text"
    with pytest.raises(RequestRefused) as caught:
        intake._parse_json(json.dumps({"sender": "me", "message": "hi",
                                       "metadata": {"blob": "x" * 5_000_000}}).encode())
    assert (caught.value.status, caught.value.code) == (413, "metadata_too_large")


def test_channel_options_include_the_new_caps(tmp_path):
    channel = MultimodalInput.from_credentials({"max_metadata_bytes": 4096, "max_pixels_per_message": 1000,
                                                "attachments_dir": str(tmp_path)})
    assert (channel.max_metadata_bytes, channel.max_pixels_per_message) == (4096, 1000)
    assert MultimodalInput(attachments_dir=str(tmp_path)).max_metadata_bytes == 8192
    with pytest.raises(ValueError):
        MultimodalInput(max_metadata_bytes=0, attachments_dir=str(tmp_path))


def test_voice_control_messages_are_bounded():
    from voice import frames

    start = '{"type": "start", "metadata": {"a": ' + nested(1000) + "}}"
    for text, code, close in ((start, "too_deeply_nested", frames.CLOSE_INVALID),
                              ('{"type": "start", "sender": "\\ud800"}', "invalid_text", frames.CLOSE_INVALID)):
        with pytest.raises(frames.FrameError) as caught:
            frames.control(text, 4096)
        assert (caught.value.code, caught.value.close_code) == (code, close)
    with pytest.raises(frames.FrameError) as caught:
        frames.start_message({"type": "start", "metadata": {"blob": "x" * 9000}}, 255, "voice-x")
    assert (caught.value.code, caught.value.close_code) == ("metadata_too_large", frames.CLOSE_TOO_BIG)
    assert frames.control('{"type": "ping"}', 4096) == {"type": "ping"}


def test_socketio_packet_namespaces_are_read_without_decoding():
    from channels.webchat_socket import packet_namespace

    assert packet_namespace('2["user_uttered",{}]') == "/"
    assert packet_namespace('2/chat,["user_uttered",{}]') == "/chat"
    assert packet_namespace('51-/chat?x=1,["user_uttered",{"_placeholder":true,"num":0}]') == "/chat"
    assert packet_namespace("5" + "1-" + nested(5000)) == "/"


# ------------------------------------------------------------------ Slack's signed bodies


def test_slack_bodies_are_bounded(tmp_path, monkeypatch):
    import uuid

    import requests
    from sanic import Sanic

    from channels.slack import SlackFilesInput
    from tests import services
    from tests.slack import stand_in as slack

    secret = uuid.uuid4().hex
    channel = SlackFilesInput.from_credentials({"slack_token": "xoxb-bounds", "slack_signing_secret": secret,
                                                "api_url": "http://127.0.0.1:9/api/",
                                                "attachments_dir": str(tmp_path)})
    monkeypatch.setattr(Sanic, "test_mode", True)
    received: list = []

    async def on_new_message(message) -> None:
        received.append(message)

    app = Sanic(f"slack_bounds_{uuid.uuid4().hex[:8]}", configure_logging=False)
    app.blueprint(channel.blueprint(on_new_message), url_prefix="/webhooks/slack")
    port = services.serve_in_thread(app)
    url = f"http://127.0.0.1:{port}/webhooks/slack/webhook"
    user, dm_channel = slack.new_id("U"), slack.new_id("D")
    envelope = json.dumps(slack.event(slack.dm(user, dm_channel, "hello")))
    deep = envelope[:-1] + ', "extra": ' + nested(5000) + "}"
    answer = slack.post_event(url, secret, deep.encode())
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "too_deeply_nested"
    lone = json.dumps(slack.event(slack.dm(user, dm_channel, "hello \ud800")))
    answer = slack.post_event(url, secret, lone.encode())
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "invalid_text"
    interaction = "payload=" + requests.utils.quote('{"type": "block_actions", "x": ' + nested(5000) + "}")
    answer = slack.post_event(url, secret, interaction.encode(),
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "too_deeply_nested"
    time.sleep(0.5)
    assert received == []


def test_the_socketio_server_refuses_deep_and_invalid_packets_before_its_handlers():
    """BoundedAsyncServer with engine.io's sending replaced by a list: what each packet gets."""
    import asyncio

    import engineio.packet

    from channels.webchat_socket import BoundedAsyncServer

    sent, handled = [], []

    async def main() -> None:
        sio = BoundedAsyncServer(async_mode="asgi", max_parts=2, max_total_bytes=1000, max_json_bytes=2000)

        async def send(_eio_sid, data) -> None:
            sent.append(data)

        async def send_packet(_eio_sid, packet) -> None:
            sent.append(packet.data)

        sio.eio.send, sio.eio.send_packet = send, send_packet

        @sio.on("user_uttered")
        async def handler(_sid, data) -> None:
            handled.append(data)

        await sio._handle_eio_connect("e1", {})
        await sio._handle_eio_message("e1", "0")
        for packet in ('2["user_uttered",{"metadata":%s}]' % nested(5000),
                       '51-["user_uttered",{"a":[{"_placeholder":true,"num":0}],"x":%s}]' % nested(5000), b"part",
                       nested(5000),  # what engine.io hands on for "4[[[...": not JSON to it either
                       '2["user_uttered",{"message":"hi \\ud800"}]',
                       '2["user_uttered",{"metadata":{"blob":"%s"}}]' % ("x" * 3000),
                       '2["user_uttered",{"message":"hello"}]'):
            await sio._handle_eio_message("e1", packet)
        await asyncio.sleep(0.3)  # handlers run as tasks

    asyncio.run(main())
    codes = [json.loads(data[1:])[1]["code"] for data in sent if isinstance(data, str) and '"error"' in data]
    assert codes == ["too_deeply_nested"] * 3 + ["invalid_text", "payload_too_large"]
    assert handled == [{"message": "hello"}]
    assert isinstance(engineio.packet.Packet(encoded_packet="4" + nested(5000)).data, str)  # no RecursionError
