"""bench/load.py: turns, errors and their causes are counted right (no timing is asserted).

A small aiohttp server answers like Rasa's channels and counts what it received, so the
generator's accounting is checked against the server's own; one test loads the real assistant
(REST channel and a voice note through the multimodal channel)."""
import asyncio
import json
import uuid
from typing import Dict

import pytest
from aiohttp import web

from bench import load as bench_load
from bench.load import Material, _answered, parse_mix, run_load
from tests import services

WAV = b"RIFF" + b"\0" * 200  # the fake server does not decode it


@pytest.fixture(autouse=True)
def channel_secret(monkeypatch):
    """The generator sends the channel secret (bench.load.channel_auth), as bench/stack.py sets it."""
    monkeypatch.setenv("PARLEY_CHANNEL_SECRET", services.CHANNEL_SECRET)


class FakeRasa:
    """REST: "fail" -> 500, "empty" -> [], "slow" -> answers after 3 s, else one text message.
    Multimodal: a picture gets a text; a voice note only its transcript (an empty answer).
    /webhooks/voice/turn: a WAV."""

    def __init__(self) -> None:
        self.seen: Dict[str, int] = {}

    def count(self, what: str) -> None:
        self.seen[what] = self.seen.get(what, 0) + 1

    async def rest(self, request: web.Request) -> web.Response:
        assert request.headers.get("Authorization") == f"Bearer {services.CHANNEL_SECRET}"  # else a 500
        body = await request.json()
        message = body["message"]
        self.count(f"text:{message}")
        if message == "fail":
            return web.json_response({"error": "boom"}, status=500)
        if message == "empty":
            return web.json_response([])
        if message == "slow":
            await asyncio.sleep(3)
        return web.json_response([{"recipient_id": body["sender"], "text": "hi"}])

    async def multimodal(self, request: web.Request) -> web.Response:
        form = await request.post()
        attachment = form["attachment"]
        data = attachment.file.read()
        if data.startswith(b"RIFF"):
            self.count("voice")
            return web.json_response([{"recipient_id": form["sender"], "custom": {"transcript": "hello"}}])
        self.count("image")
        return web.json_response([{"recipient_id": form["sender"], "text": "a picture"}])

    async def turn(self, request: web.Request) -> web.Response:
        self.count("call")
        assert request.query["format"] == "wav" and request.query["sender"]
        await request.read()
        return web.Response(body=WAV * 2, content_type="audio/wav")


def against_fake(users: int, seconds: float, mix, material: Material, timeout: float = 1.0):
    fake = FakeRasa()

    async def main():
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", fake.rest)
        app.router.add_post("/webhooks/multimodal/webhook", fake.multimodal)
        app.router.add_post("/webhooks/voice/turn", fake.turn)
        runner = web.AppRunner(app)
        await runner.setup()
        port = services.free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            return await bench_load.load(f"http://127.0.0.1:{port}", users, seconds, mix, material, timeout=timeout)
        finally:
            await runner.cleanup()

    return asyncio.run(main()), fake.seen


def test_errors_are_counted_by_cause_and_match_what_the_server_received():
    material = Material(texts=["hello", "fail", "empty", "hello", "slow"])
    result, seen = against_fake(users=4, seconds=2.0, mix="text", material=material, timeout=1.0)
    text = result["kinds"]["text"]
    assert set(result["kinds"]) == {"text"}
    assert text["turns"] == sum(seen.values()) == result["all"]["turns"]
    assert text["errors"].get("http_500", 0) == seen.get("text:fail", 0) > 0
    assert text["errors"].get("empty", 0) == seen.get("text:empty", 0) > 0
    assert text["errors"].get("timeout", 0) == seen.get("text:slow", 0) > 0
    assert text["ok"] == seen.get("text:hello", 0) == text["latency_s"]["n"] == len(text["ok_latencies_s"])
    assert text["ok"] + sum(text["errors"].values()) == text["turns"]
    assert text["error_rate"] == round(1 - text["ok"] / text["turns"], 4)
    assert text["throughput_per_s"] > 0 and result["elapsed_s"] >= 2.0


def test_every_turn_of_one_kind_failing_gives_an_error_rate_of_one():
    result, seen = against_fake(users=3, seconds=1.0, mix="text", material=Material(texts=["fail"]))
    text = result["kinds"]["text"]
    assert text["turns"] == seen["text:fail"] > 0
    assert text["error_rate"] == 1.0 and text["errors"] == {"http_500": text["turns"]}
    assert text["latency_s"] == {"n": 0} and text["throughput_per_s"] == 0


def test_mixed_kinds_go_to_their_channels_and_a_transcript_alone_is_an_empty_answer():
    material = Material(texts=["hello"], pictures=[("what is this?", "a.png", b"\x89PNG fake"), (None, "b.jpg", b"JPEG")],
                        voice_notes=[WAV])
    result, seen = against_fake(users=5, seconds=1.5, mix="text=0.4,image=0.3,voice=0.2,call=0.1", material=material)
    kinds = result["kinds"]
    assert {"text", "image", "voice"} <= set(kinds)
    for kind in kinds:
        assert kinds[kind]["turns"] == seen.get(kind if kind != "text" else "text:hello", 0)
    assert kinds["text"]["error_rate"] == 0 and kinds["image"]["error_rate"] == 0
    assert kinds["voice"]["errors"] == {"empty": kinds["voice"]["turns"]}
    if "call" in kinds:
        assert kinds["call"]["error_rate"] == 0
    assert result["all"]["turns"] == sum(k["turns"] for k in kinds.values())


def test_a_server_that_is_down_gives_connection_errors():
    result = run_load(services.closed_url(), 2, 0.3, "text", Material(), timeout=2)
    text = result["kinds"]["text"]
    assert text["turns"] > 0 and text["errors"] == {"connection": text["turns"]} and text["ok"] == 0


@pytest.mark.parametrize("mix", ["", "speech", "text=abc", "text=-1", "text=0", {}, {"video": 1}])
def test_bad_mixes_are_refused(mix):
    with pytest.raises(ValueError):
        parse_mix(mix)


def test_named_mixes():
    assert parse_mix("mixed") == {"text": 0.9, "image": 0.05, "voice": 0.05}
    assert parse_mix("text=0.8, image=0.2") == {"text": 0.8, "image": 0.2}


def test_media_turns_without_material_and_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="pictures"):
        run_load("http://127.0.0.1:1", 1, 1, "mixed", Material(voice_notes=[WAV]))
    with pytest.raises(ValueError, match="voice"):
        run_load("http://127.0.0.1:1", 1, 1, "call", Material())
    with pytest.raises(ValueError):
        run_load("http://127.0.0.1:1", 0, 1, "text", Material())
    with pytest.raises(ValueError):
        run_load("http://127.0.0.1:1", 1, 0, "text", Material())


@pytest.mark.parametrize("body,answered", [
    (b'[{"text": "hi"}]', True), (b'[{"image": "http://x/y.png"}]', True),
    (b'[{"buttons": [{"title": "a", "payload": "/a"}]}]', True), (b"[]", False),
    (b'[{"custom": {"transcript": "hello"}}]', False), (b'[{"custom": {"transcript": "x"}}, {"text": "hi"}]', True),
    (b'{"text": "hi"}', False), (b"not json", False), (b'[{"recipient_id": "a"}]', False)])
def test_what_counts_as_an_answer(body, answered):
    assert _answered("text", 200, body) is answered


def test_a_picture_or_voice_note_the_channel_could_not_use_is_an_apology():
    from channels.multimodal import NOTE_LISTENING_DOWN, NOTE_SILENCE

    assert bench_load._outcome("voice", json.dumps([{"text": NOTE_LISTENING_DOWN}]).encode()) == "apology"
    assert bench_load._outcome("voice", json.dumps([{"text": NOTE_SILENCE}]).encode()) == "apology"
    assert bench_load._outcome("voice", json.dumps([{"custom": {"transcript": "hi"}}, {"text": "Yes, we ship."}]).encode()) == "ok"
    assert bench_load._outcome("text", json.dumps([{"text": NOTE_LISTENING_DOWN}]).encode()) == "ok"  # text turns: never


def test_a_spoken_answer_needs_audio():
    assert _answered("call", 200, WAV) is True
    assert _answered("call", 200, b"RIFF") is False


def test_the_real_assistant_answers_every_text_and_voice_turn(assistant, tmp_path):
    """Two customers for a few seconds against the session's Rasa (its default rate limits are
    far above this), text and espeak-ng voice notes: nothing is lost or refused. A voice note may
    get the channel's apology when Whisper is slower than the channel's 20 s timeout on a busy
    machine: that is counted as an error of its own, never as an answer."""
    material = bench_load.make_material(tmp_path, pictures=False)
    result = run_load(assistant.url, 2, 4.0, "text=0.7,voice=0.3", material, label=uuid.uuid4().hex[:6])
    everything = result["all"]
    assert everything["turns"] >= 2
    assert set(everything["errors"]) <= {"apology"}, json.dumps(everything["errors"])
    text = result["kinds"].get("text", {"ok": 0, "turns": 0})
    assert text["ok"] == text["turns"]
    assert everything["ok"] + everything["errors"].get("apology", 0) == everything["turns"]
    assert everything["ok"] == sum(k["ok"] for k in result["kinds"].values())


def test_the_stack_counts_degraded_answers_in_rasas_log(tmp_path):
    from types import SimpleNamespace

    from bench.stack import Stack

    log = tmp_path / "rasa.log"
    log.write_text("x WARNING components.fusion_featurizer - sentence embeddings unavailable, using zeros: a\n"
                   "y INFO ok\n"
                   "z ERROR resilience.actions - action action_x: the customer gets an apology\n"
                   "x WARNING components.fusion_featurizer - sentence embeddings unavailable, using zeros: b\n")
    stack = Stack("test")
    stack.services["rasa"] = SimpleNamespace(log_path=log)
    assert stack.log_counts() == {"embedding_timeouts": 2, "action_apologies": 1}
    stack.services["rasa"] = SimpleNamespace(log_path=tmp_path / "missing.log")
    assert stack.log_counts() == {"embedding_timeouts": 0, "action_apologies": 0}


def test_memory_and_cpu_of_a_process_tree_include_its_children():
    import os
    import subprocess
    import sys

    from bench.stack import cpu_seconds, descendants, memory

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in descendants(os.getpid())
        mine = memory(os.getpid())
        assert mine["processes"] >= 2 and mine["tree_peak_mb"] >= mine["peak_mb"] > 0
        assert cpu_seconds(os.getpid()) > 0
    finally:
        child.kill()
        child.wait()
    assert memory(child.pid)["peak_mb"] is None
