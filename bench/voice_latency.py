"""Voice call latency: end of the caller's speech -> first byte of the reply's audio, by stage.

Run with the dialogue venv from the repository root (section "voice"):

    .venv/dialogue/bin/python -m bench.voice_latency [--quick] [--turns 20] [--model models/X.tar.gz]
    .venv/dialogue/bin/python -m bench.voice_latency --rasa-url http://127.0.0.1:5005   # reuse

Without --rasa-url it starts the real processes (bench/stack.py: perception service, action
server, `rasa run` with credentials.yml, so with the voice channel), training tests/config.yml
first when no --model is given. bench/e2e.py runs the same measurement (`measure`) as part of
the end-to-end section. Each turn is one call to /webhooks/voice/stream: a caller that streams a
20 ms PCM16 frame every 20 ms (espeak-ng speech, then silence, as a phone does) asks one
question; the client measures from the moment its last frame of speech went out to the arrival
of the first audio message, and the server reports its stages in the `timings` event:

- end of turn: end of speech -> the detector declares the turn over (the 700 ms of silence the
  end-of-turn policy waits, plus the VAD hop)
- transcript: Whisper on the turn's audio (perception /v1/transcribe)
- Rasa reply: on_new_message through the NLU pipeline, the policies and the action server
- first audio: synthesis of the first sentence (Piper) until its first chunk is sent

Calls run one after the other, in rounds (3, --quick 2) for the rerun spread.
"""
from __future__ import annotations

import asyncio
import signal
import sys
import time
from typing import Any, Dict, List, Optional, Sequence

from bench import common
from tests.voice.call import VoiceCall, silence, speech

QUESTIONS = ["Do you ship to Canada?", "Hello there.", "How much is the Aero 14?",
             "What is the warranty on the Vista 55?", "Thank you.", "How do I reset my password?",
             "Where is my order?", "Can I talk to a person?"]
STAGES = [("end of speech -> end of turn", "end_of_turn_ms"), ("end of turn -> transcript", "transcript_ms"),
          ("transcript -> Rasa reply", "rasa_ms"), ("Rasa reply -> first audio byte", "first_audio_ms"),
          ("end of speech -> first audio byte (server)", "total_ms"),
          ("end of speech -> first audio byte (client)", "client_ms")]
SETTINGS = "credentials.yml voice channel defaults: end_of_turn_ms 700, VAD hop 96 ms, speculate_ms 224"


async def one_turn(url: str, question: str) -> Dict[str, Any]:
    call = await VoiceCall(url).open()
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


async def measure(url: str, turns: int, warmup: int, first: int = 0) -> List[Dict[str, Any]]:
    """`turns` one-question calls to the WebSocket `url` after `warmup` unmeasured ones."""
    for number in range(warmup):
        await one_turn(url, QUESTIONS[number % len(QUESTIONS)])
    rows = []
    for number in range(first, first + turns):
        row = await one_turn(url, QUESTIONS[number % len(QUESTIONS)])
        row["question"] = number % len(QUESTIONS)
        rows.append(row)
        print(f"voice turn {number + 1}: client {row['client_ms']} ms, server {row['total_ms']} ms "
              f"({row['outcome']})", flush=True)
    return rows


def stream_url(rasa_url: str) -> str:
    return rasa_url.rstrip("/").replace("http://", "ws://").replace("https://", "wss://") + "/webhooks/voice/stream"


def measure_rounds(rasa_url: str, rounds: int, turns_per_round: int, warmup: int) -> List[List[Dict[str, Any]]]:
    url = stream_url(rasa_url)
    done: List[List[Dict[str, Any]]] = []
    for number in range(rounds):
        done.append(asyncio.run(measure(url, turns_per_round, warmup if number == 0 else 0,
                                        first=number * turns_per_round)))
    return done


def figures_of(per_round: List[List[Dict[str, Any]]]) -> Dict[str, Any]:
    """Stage summaries (ms) over every spoken turn, and the spread of each round's medians."""
    rows = [row for chunk in per_round for row in chunk]
    spoken = [row for row in rows if row["outcome"] == "spoken"]
    stages = {key: common.summary([row[key] for row in spoken if isinstance(row.get(key), (int, float))], 1)
              for _, key in STAGES}
    medians = {}
    for _, key in STAGES:
        values = []
        for chunk in per_round:
            numbers = [row[key] for row in chunk if row["outcome"] == "spoken" and isinstance(row.get(key), (int, float))]
            if numbers:
                values.append(common.percentile(numbers, 0.5))
        medians[key] = common.spread(values, 1)
    return {"stages_ms": stages, "round_median_spread_ms": medians, "turns": rows,
            "spoken_turns": len(spoken), "calls": len(rows), "settings": SETTINGS}


def table(figures: Dict[str, Any]) -> str:
    rows = []
    for label, key in STAGES:
        stage = figures["stages_ms"].get(key) or {}
        if stage.get("n"):
            rows.append([label, stage["n"], f"{stage['p50']:.0f}", f"{stage['p95']:.0f}", f"{stage['max']:.0f}",
                         common.spread_text(figures["round_median_spread_ms"][key], digits=0)])
    return common.md_table(["stage", "n", "p50 ms", "p95 ms", "max ms", "median per round (spread)"], rows,
                           [False, True, True, True, True, False])


def options(parser: Any) -> None:
    parser.add_argument("--turns", type=int, default=None, help="calls in all (default 12, --quick 4)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--model", default=None)
    parser.add_argument("--rasa-url", default=None, help="reuse a running Rasa (with the voice channel)")


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = common.arguments(__doc__.splitlines()[0], argv, options)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the services it started
    started = time.time()
    rounds = 2 if args.quick else 3
    turns = args.turns or (4 if args.quick else 12)
    per_round_turns = max(1, turns // rounds)
    machine_before = common.machine()
    if args.rasa_url:
        per_round = measure_rounds(args.rasa_url, rounds, per_round_turns, args.warmup)
        model = None
    else:
        from bench.stack import Stack

        with Stack("bench-voice", model=args.model) as stack:
            per_round = measure_rounds(stack.url, rounds, per_round_turns, args.warmup)
            model = stack.model
    figures = figures_of(per_round)
    figures.update(model=model, machine_at_start=machine_before)
    markdown = f"""
Measured on {common.machine_line(machine_before)}; the machine may have been shared with other
jobs. {figures['spoken_turns']} of {figures['calls']} one-question calls to
`/webhooks/voice/stream` were answered with speech ({rounds} rounds of {per_round_turns} after
{args.warmup} warm-up calls), one call at a time. The caller streams espeak-ng speech in 20 ms
frames in real time; stages are the server's `timings` event, the last row the client's own
clock. {SETTINGS}.

{table(figures)}

Rerun: `.venv/dialogue/bin/python -m bench.voice_latency` (`--quick`: 4 calls).
"""
    common.write_section("voice", "Voice calls: end of speech to first audio byte", figures, markdown,
                         args.out, started)


if __name__ == "__main__":
    main()
