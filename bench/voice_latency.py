"""Voice turn latency: end of the caller's speech -> first byte of the reply's audio, by stage.

Run with the dialogue venv from the repository root:

    .venv/dialogue/bin/python -m bench.voice_latency [--turns 20] [--model models/X.tar.gz]
    .venv/dialogue/bin/python -m bench.voice_latency --rasa-url http://127.0.0.1:5005   # reuse

Without --rasa-url it starts the real processes (perception service, action server, `rasa run`
with credentials.yml, so with the voice channel) as the tests do, training tests/config.yml
first when no --model is given. Each turn is one call to /webhooks/voice/stream: a caller that
streams a 20 ms PCM16 frame every 20 ms (espeak-ng speech, then silence, as a phone does) asks
one question; the client measures from the moment its last frame of speech went out to the
arrival of the first audio message, and the server reports its stages in the `timings` event:

- end of turn: end of speech -> the detector declares the turn over (the 700 ms of silence the
  end-of-turn policy waits, plus the VAD hop)
- transcript: Whisper on the turn's audio (perception /v1/transcribe)
- Rasa reply: on_new_message through the NLU pipeline, the policies and the action server
- first audio: synthesis of the first sentence (Piper) until its first chunk is sent

Writes bench/results/<date>/voice_latency.json and prints the table.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import statistics
import sys
import tempfile
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Optional

from tests import services
from tests.voice.call import VoiceCall, silence, speech

ROOT = services.ROOT
QUESTIONS = ["Do you ship to Canada?", "Hello there.", "How much is the Aero 14?",
             "What is the warranty on the Vista 55?", "Thank you.", "How do I reset my password?",
             "Where is my order?", "Can I talk to a person?"]
STAGES = [("end of speech -> end of turn", "end_of_turn_ms"), ("end of turn -> transcript", "transcript_ms"),
          ("transcript -> Rasa reply", "rasa_ms"), ("Rasa reply -> first audio byte", "first_audio_ms"),
          ("end of speech -> first audio byte (server)", "total_ms"),
          ("end of speech -> first audio byte (client)", "client_ms")]


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(values: List[float]) -> Optional[Dict[str, float]]:
    if not values:
        return None
    return {"n": len(values), "p50_ms": round(statistics.median(values), 1),
            "p95_ms": round(percentile(values, 0.95), 1), "max_ms": round(max(values), 1)}


async def one_turn(url: str, question: str) -> Dict[str, Any]:
    call = await VoiceCall(url, f"bench-voice-{uuid.uuid4().hex[:8]}").open()
    try:
        call.say(silence(0.3), speech(question))
        timings = await call.wait_for("timings", turn=1, timeout=300)
        first_audio = call.binary[0] if call.binary else None
        row = {key: timings.get(key) for _, key in STAGES if key != "client_ms"}
        row["outcome"] = timings.get("outcome")
        row["client_ms"] = (round((first_audio - call.speech_sent_at) * 1000, 1)
                            if first_audio is not None and call.speech_sent_at is not None else None)
        return row
    finally:
        await call.hang_up()


async def measure(url: str, turns: int, warmup: int) -> List[Dict[str, Any]]:
    for number in range(warmup):
        await one_turn(url, QUESTIONS[number % len(QUESTIONS)])
    rows = []
    for number in range(turns):
        row = await one_turn(url, QUESTIONS[number % len(QUESTIONS)])
        row["question"] = number % len(QUESTIONS)
        rows.append(row)
        print(f"turn {number + 1}/{turns}: client {row['client_ms']} ms, server {row['total_ms']} ms "
              f"({row['outcome']})", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--model", default=None)
    parser.add_argument("--rasa-url", default=None, help="reuse a running Rasa (with the voice channel)")
    args = parser.parse_args()
    out = ROOT / "bench" / "results" / datetime.now().strftime("%Y-%m-%d")
    out.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the services it started
    processes: List[services.Service] = []
    model = args.model
    try:
        if args.rasa_url:
            url = args.rasa_url.rstrip("/")
        else:
            scratch = Path(tempfile.mkdtemp(prefix="voice-latency-"))
            perception = services.start_perception("voice-latency-perception")
            processes.append(perception)
            perception_url = perception.health_url.rsplit("/health", 1)[0]
            model = model or services.train_model("tests/config.yml", perception_url)
            db = services.seed_db(scratch / "company.db")
            actions = services.start_actions("voice-latency-actions", db, perception_url)
            processes.append(actions)
            rasa = services.start_rasa("voice-latency-rasa", model, actions.health_url.rsplit("/health", 1)[0],
                                       perception_url, scratch / "tracker.db", uuid.uuid4().hex,
                                       attachments_dir=scratch / "attachments")
            processes.append(rasa)
            url = rasa.health_url.rstrip("/")
        ws = url.replace("http://", "ws://").replace("https://", "wss://") + "/webhooks/voice/stream"
        rows = asyncio.run(measure(ws, args.turns, args.warmup))
    finally:
        for process in reversed(processes):
            process.stop()
    spoken = [row for row in rows if row["outcome"] == "spoken"]
    report = {
        "stages": {key: summary([row[key] for row in spoken if isinstance(row.get(key), (int, float))])
                   for _, key in STAGES},
        "turns": rows, "spoken_turns": len(spoken), "questions": QUESTIONS, "model": model,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "processor": platform.processor()},
        "settings": "credentials.yml voice channel defaults: end_of_turn_ms 700, VAD hop 96 ms, speculate_ms 224",
    }
    (out / "voice_latency.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nvoice turns: {len(spoken)} spoken of {len(rows)}; {os.cpu_count()} CPUs")
    print("| stage | n | p50 ms | p95 ms | max ms |\n| --- | --: | --: | --: | --: |")
    for label, key in STAGES:
        row = report["stages"][key]
        if row:
            print(f"| {label} | {row['n']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |")
    print(f"written to {out / 'voice_latency.json'}")


if __name__ == "__main__":
    main()
