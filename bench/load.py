"""Load: N simulated customers at once against the real REST and multimodal channels.

Two uses, both with the dialogue venv from the repository root:

    .venv/dialogue/bin/python -m bench.load [--quick] [--full] [--out DIR]     # the "load" section
    .venv/dialogue/bin/python -m bench.load --url http://127.0.0.1:5005 --users 10 --mix mixed --seconds 30

As a library: `run_load(url, users, seconds, mix, material)` (asyncio: `load(...)`).

The generator (aiohttp) is a closed loop with no think time: each simulated customer is its own
sender, sends a turn, waits for the answer and sends the next; every `turns_per_conversation`
turns it starts a new conversation (a new sender id), so trackers stay conversation-sized. What a
turn is, by kind:

- text:  POST /webhooks/rest/webhook {"sender", "message"} (the guarded REST channel);
- image: POST /webhooks/multimodal/webhook, multipart: sender, sometimes typed words, and a
  screenshot, statement or product photo rendered by bench/multimodal_material.py;
- voice: the same channel with a WAV voice note spoken by espeak-ng (transcribed by Whisper);
- call:  POST /webhooks/voice/turn?sender=..&format=wav with that WAV (recording in, the spoken
  reply out: transcription, Rasa and speech synthesis).

`mix` is "text", "mixed" (90 % text, 5 % image, 5 % voice: one turn in ten carries a picture or a
voice note), a single kind ("image", "voice", "call") or shares such as "text=0.8,image=0.2";
each customer draws its turns' kinds from its own seeded random generator.

Per kind the result holds: turns sent, turns answered well, errors by cause (`http_<status>`
for a non-2xx answer, `timeout`, `connection`, `empty` for a 2xx answer without any bot
message: no text, picture, buttons or spoken audio; `apology` for a picture or voice note the
multimodal channel answered with its note that it could not use it, e.g. the perception
service slower than its 20 s timeout), the error rate, p50/p95 latency of the
turns answered well (bench.common.summary, seconds) and the throughput (turns answered well per
second of the run). A run stops starting turns after `seconds` and waits for those in flight.

The "load" section starts the perception service, the action server and Rasa itself
(bench/stack.py, rate limits off for that instance) and runs 1, 10 and 50 customers (--quick:
1 and 10; --full adds 100), text-only and mixed, 25 s a step (--quick 10 s), text-only and mixed
in turn at each count. It records the CPU seconds each process used per step, to show where the
time went.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from bench import common

KINDS = ("text", "image", "voice", "call")
MIXES = {"text": {"text": 1.0}, "mixed": {"text": 0.9, "image": 0.05, "voice": 0.05},
         "image": {"image": 1.0}, "voice": {"voice": 1.0}, "call": {"call": 1.0}}
TEXTS = ["hello", "how much is the aero 14?", "what is the warranty on the vista 55?",
         "do you ship outside the US?", "how do I reset my password?", "where is my order?",
         "what is your return policy?", "thanks"]
PICTURES = [("what does this mean?", "web_2002_light"), (None, "statement_late_fee"),
            (None, "photo_laptop_blue"), ("is this covered?", "photo_speaker_black"),
            (None, "app_router_r01"), ("why was I charged this?", "statement_installments")]
SPOKEN = ["Do you ship to Canada?", "How much is the Aero 14?", "What is the warranty on the Vista 55?",
          "How do I reset my password?", "Where is my order?"]
PATHS = {"text": "/webhooks/rest/webhook", "image": "/webhooks/multimodal/webhook",
         "voice": "/webhooks/multimodal/webhook", "call": "/webhooks/voice/turn"}


@dataclass
class Material:
    """What the simulated customers send: texts, pictures (typed words or None, file name, bytes)
    and voice notes (WAV bytes)."""
    texts: List[str] = field(default_factory=lambda: list(TEXTS))
    pictures: List[Tuple[Optional[str], str, bytes]] = field(default_factory=list)
    voice_notes: List[bytes] = field(default_factory=list)


def make_material(folder: Path, pictures: bool = True, voice: bool = True) -> Material:
    """Renders the pictures (bench/multimodal_material.py, perception venv: Chromium, Pillow) and
    speaks the voice notes (espeak-ng) into `folder`."""
    from tests import services

    material = Material()
    if pictures:
        out = folder / "pictures"
        subprocess.run([str(services.VENV_PERCEPTION / "bin" / "python"),
                        str(common.ROOT / "bench" / "multimodal_material.py"), str(out),
                        *[name for _, name in PICTURES]],
                       check=True, cwd=common.ROOT, env=services.base_env(), capture_output=True, timeout=600)
        manifest = json.loads((out / "manifest.json").read_text())
        material.pictures = [(words, manifest[name], (out / manifest[name]).read_bytes())
                             for words, name in PICTURES]
    if voice:
        for number, sentence in enumerate(SPOKEN):
            path = folder / f"voice-{number}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-s", "140", "-g", "4", "-w", str(path), sentence],
                           check=True, capture_output=True, timeout=60)
            material.voice_notes.append(path.read_bytes())
    return material


def parse_mix(mix: Any) -> Dict[str, float]:
    """'text' | 'mixed' | a kind | 'text=0.8,image=0.2' | {kind: share} -> {kind: share}."""
    if isinstance(mix, dict):
        shares = {str(k): float(v) for k, v in mix.items()}
    elif mix in MIXES:
        shares = dict(MIXES[mix])
    else:
        shares = {}
        for part in str(mix).split(","):
            kind, _, share = part.partition("=")
            try:
                shares[kind.strip()] = float(share)
            except ValueError:
                raise ValueError(f"mix: {part!r} is not kind=share")
    unknown = sorted(set(shares) - set(KINDS))
    if unknown or not shares or any(v < 0 for v in shares.values()) or sum(shares.values()) <= 0:
        raise ValueError(f"mix: kinds are {', '.join(KINDS)} with shares >= 0, got {mix!r}")
    return shares


def channel_auth() -> Dict[str, str]:
    """The REST, multimodal and /turn channels answer the company's back end only: the channel
    secret (PARLEY_CHANNEL_SECRET, which bench/stack.py sets for its own server, else
    var/channel_secret of `make run`; channels/sessions.py)."""
    from channels.sessions import read_secret

    return {"Authorization": f"Bearer {read_secret()}"}


def _apologies() -> Tuple[str, ...]:
    """The multimodal channel's notes for a voice note or picture it could not use (the
    perception service down or slower than perception_timeout, silence, a damaged file)."""
    try:
        from channels import multimodal
    except ImportError:  # not the dialogue venv: no such notes are recognised
        return ()
    return tuple(note.split("{")[0].strip() for note in (
        multimodal.NOTE_LISTENING_DOWN, multimodal.NOTE_LISTENING_DOWN_WITH_TEXT, multimodal.NOTE_SILENCE,
        multimodal.NOTE_BAD_AUDIO, multimodal.NOTE_AUDIO_TOO_LONG, multimodal.NOTE_BAD_IMAGE,
        multimodal.NOTE_UNSUPPORTED))


APOLOGIES: Optional[Tuple[str, ...]] = None


def _outcome(kind: str, body: bytes) -> str:
    """'ok', 'empty' (nothing for the customer) or 'apology' (the channel said it could not use
    the picture or voice note) for a 2xx answer."""
    global APOLOGIES
    if not _answered(kind, 200, body):
        return "empty"
    if kind in ("image", "voice"):
        if APOLOGIES is None:  # load() reads them before its clock starts
            APOLOGIES = _apologies()
        texts = [m.get("text") or "" for m in json.loads(body) if isinstance(m, dict)]
        if any(text.startswith(APOLOGIES) for text in texts if text) and APOLOGIES:
            return "apology"
    return "ok"


def _answered(kind: str, status: int, body: bytes) -> bool:
    """A 2xx answer with something for the customer in it."""
    if kind == "call":
        return len(body) > 44  # more than a WAV header
    try:
        messages = json.loads(body)
    except ValueError:
        return False
    if not isinstance(messages, list):
        return False
    for message in messages:
        if not isinstance(message, dict):
            continue
        custom = message.get("custom")
        if (message.get("text") or message.get("image") or message.get("buttons")
                or message.get("attachment") or (custom and not (isinstance(custom, dict) and set(custom) == {"transcript"}))):
            return True
    return False


async def _turn(session: Any, url: str, kind: str, sender: str, number: int, material: Material,
                timeout: float) -> Tuple[str, float]:
    """One turn: (outcome, seconds). outcome is 'ok', 'empty', 'apology', 'http_<status>',
    'timeout' or 'connection'."""
    import aiohttp

    target = url + PATHS[kind]
    if kind == "text":
        request = dict(json={"sender": sender, "message": material.texts[number % len(material.texts)]})
    elif kind in ("image", "voice"):
        form = aiohttp.FormData()
        form.add_field("sender", sender)
        if kind == "image":
            words, name, data = material.pictures[number % len(material.pictures)]
            if words:
                form.add_field("message", words)
        else:
            name, data = "note.wav", material.voice_notes[number % len(material.voice_notes)]
        form.add_field("attachment", data, filename=name, content_type="application/octet-stream")
        request = dict(data=form)
    else:  # call
        request = dict(data=material.voice_notes[number % len(material.voice_notes)],
                       params={"sender": sender, "format": "wav"}, headers={"Content-Type": "audio/wav"})
    started = time.perf_counter()
    try:
        async with session.post(target, timeout=aiohttp.ClientTimeout(total=timeout), **request) as response:
            body = await response.read()
            status = response.status
    except asyncio.TimeoutError:
        return "timeout", time.perf_counter() - started
    except aiohttp.ClientError:
        return "connection", time.perf_counter() - started
    seconds = time.perf_counter() - started
    if not 200 <= status < 300:
        return f"http_{status}", seconds
    return _outcome(kind, body), seconds


def _check_material(shares: Dict[str, float], material: Material) -> None:
    if shares.get("image") and not material.pictures:
        raise ValueError("the mix has image turns but the material has no pictures")
    if (shares.get("voice") or shares.get("call")) and not material.voice_notes:
        raise ValueError("the mix has voice turns but the material has no voice notes")


async def load(url: str, users: int, seconds: float, mix: Any = "text", material: Optional[Material] = None,
               timeout: float = 120.0, turns_per_conversation: int = 6, seed: int = 7,
               label: Optional[str] = None) -> Dict[str, Any]:
    """Runs `users` closed-loop customers for `seconds`; returns the figures (module docstring)."""
    import aiohttp

    if users < 1 or seconds <= 0:
        raise ValueError("users must be >= 1 and seconds > 0")
    shares = parse_mix(mix)
    material = material or Material()
    _check_material(shares, material)
    kinds = [kind for kind in shares if shares[kind] > 0]
    global APOLOGIES
    if APOLOGIES is None and ("image" in kinds or "voice" in kinds):
        APOLOGIES = _apologies()  # imports the channel (Rasa): not while customers wait
    weights = [shares[kind] for kind in kinds]
    run = label or uuid.uuid4().hex[:8]
    url = url.rstrip("/")
    records: List[Tuple[str, str, float]] = []
    counters = {kind: 0 for kind in KINDS}

    async def customer(number: int, session: Any, deadline: float) -> None:
        chooser = random.Random(seed * 100003 + number)
        turn = 0
        while time.perf_counter() < deadline:
            sender = f"load-{run}-{number}-{turn // turns_per_conversation}"
            kind = chooser.choices(kinds, weights)[0]
            index = counters[kind]
            counters[kind] += 1
            outcome, took = await _turn(session, url, kind, sender, index, material, timeout)
            records.append((kind, outcome, took))
            turn += 1

    connector = aiohttp.TCPConnector(limit=users + 4)
    async with aiohttp.ClientSession(connector=connector, headers=channel_auth()) as session:
        began = time.perf_counter()
        deadline = began + seconds
        await asyncio.gather(*(customer(number, session, deadline) for number in range(users)))
        elapsed = time.perf_counter() - began
    return summarise(records, users, seconds, elapsed, shares)


def summarise(records: Sequence[Tuple[str, str, float]], users: int, seconds: float, elapsed: float,
              shares: Dict[str, float]) -> Dict[str, Any]:
    """(kind, outcome, seconds) records -> figures per kind and over all turns."""
    def block(rows: Sequence[Tuple[str, str, float]]) -> Dict[str, Any]:
        ok = [took for _, outcome, took in rows if outcome == "ok"]
        errors: Dict[str, int] = {}
        for _, outcome, _ in rows:
            if outcome != "ok":
                errors[outcome] = errors.get(outcome, 0) + 1
        return {"turns": len(rows), "ok": len(ok), "errors": errors,
                "error_rate": round(1 - len(ok) / len(rows), 4) if rows else None,
                "latency_s": common.summary(ok), "throughput_per_s": round(len(ok) / elapsed, 3),
                "ok_latencies_s": [round(took, 4) for took in ok]}

    kinds = {kind: block([r for r in records if r[0] == kind]) for kind in KINDS if any(r[0] == kind for r in records)}
    return {"users": users, "seconds": seconds, "elapsed_s": round(elapsed, 2), "mix": shares,
            "kinds": kinds, "all": block(records)}


def run_load(url: str, users: int, seconds: float, mix: Any = "text", material: Optional[Material] = None,
             **options: Any) -> Dict[str, Any]:
    """`load` for synchronous callers (runs its own event loop)."""
    return asyncio.run(load(url, users, seconds, mix, material, **options))


# ---------------------------------------------------------------------------- the section


def _ms(value: Optional[float]) -> str:
    return "–" if value is None else f"{value * 1000:.0f}"


def warm_up(url: str, material: Material) -> None:
    """The first picture, voice note and text turn load lazily initialised parts: not measured."""
    run_load(url, 1, 3.0, "text", material, label="warm-text")
    for mix in ("image", "voice"):
        run_load(url, 1, 0.1, mix, material, label=f"warm-{mix}")


def section(args: Any) -> None:
    from bench.stack import Stack

    started = time.time()
    counts = [1, 10] if args.quick else [1, 10, 50] + ([100] if args.full else [])
    step = args.step or (10.0 if args.quick else 25.0)
    machine_before = common.machine()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as scratch:
        material = make_material(Path(scratch))
        stack = Stack("bench-load", model=args.model)
        with stack:
            warm_up(stack.url, material)
            steps = []
            for users in counts:
                for mix in ("text", "mixed"):
                    cpu_before, wall_before = stack.cpu(), time.perf_counter()
                    result = run_load(stack.url, users, step, mix, material, label=f"{mix}-{users}")
                    wall = time.perf_counter() - wall_before
                    cpu_after = stack.cpu()
                    result["mix_name"] = mix
                    result["cpu_cores_used"] = {name: round((cpu_after[name] - cpu_before.get(name, 0)) / wall, 2)
                                                for name in cpu_after}
                    result["load_average_1min"] = round(os.getloadavg()[0], 2)
                    steps.append(result)
                    print(f"load: {users} users {mix}: " + ", ".join(
                        f"{kind} n={k['turns']} p50={_ms(k['latency_s'].get('p50'))} ms err={k['error_rate']}"
                        for kind, k in result["kinds"].items()), flush=True)
            memory = stack.memory()
            rasa_log = stack.log_counts()
            startup = stack.startup_seconds
            model = stack.model
    figures = {"steps": steps, "users": counts, "step_seconds": step, "memory": memory, "rasa_log": rasa_log,
               "startup_seconds": startup, "model": Path(model).name, "machine_at_start": machine_before,
               "mixed_shares": MIXES["mixed"], "nice": os.nice(0)}
    markdown = report(figures, common.results_dir(args.out))
    common.write_section("load", "Load: concurrent customers on the REST and multimodal channels", figures,
                         markdown, args.out, started)


def _step(figures: Dict[str, Any], users: int, mix: str) -> Optional[Dict[str, Any]]:
    for step in figures["steps"]:
        if step["users"] == users and step["mix_name"] == mix:
            return step
    return None


def report(figures: Dict[str, Any], folder: Path) -> str:
    rows = []
    for step in figures["steps"]:
        for kind, k in step["kinds"].items():
            errors = ", ".join(f"{name} {count}" for name, count in sorted(k["errors"].items())) or "none"
            rows.append([step["users"], step["mix_name"], kind, k["turns"], _ms(k["latency_s"].get("p50")),
                         _ms(k["latency_s"].get("p95")), f"{100 * k['error_rate']:.1f}%", errors,
                         f"{k['throughput_per_s']:.2f}"])
    table = common.md_table(["users", "mix", "kind", "turns", "p50 ms", "p95 ms", "error rate", "errors",
                             "turns/s"], rows, [True, False, False, True, True, True, True, False, True])
    compare, cpu_rows = [], []
    for users in figures["users"]:
        alone, mixed = _step(figures, users, "text"), _step(figures, users, "mixed")
        if not alone or not mixed or "text" not in alone["kinds"] or "text" not in mixed["kinds"]:
            continue
        a, m = alone["kinds"]["text"]["latency_s"], mixed["kinds"]["text"]["latency_s"]
        if not a.get("n") or not m.get("n"):
            continue
        compare.append([users, _ms(a["p50"]), _ms(m["p50"]), f"{m['p50'] / a['p50']:.2f}×", _ms(a["p95"]),
                        _ms(m["p95"]), f"{m['p95'] / a['p95']:.2f}×",
                        f"{alone['kinds']['text']['throughput_per_s']:.2f} / {mixed['kinds']['text']['throughput_per_s']:.2f}"])
        for step in (alone, mixed):
            cores = step["cpu_cores_used"]
            cpu_rows.append([users, step["mix_name"], cores.get("rasa"), cores.get("actions"), cores.get("perception"),
                             round(sum(cores.values()), 2), step["load_average_1min"]])
    comparison = common.md_table(["users", "text p50 ms, text-only", "text p50 ms, mixed", "ratio",
                                  "text p95 ms, text-only", "text p95 ms, mixed", "ratio",
                                  "text turns/s (text-only / mixed)"], compare) if compare else "(no comparison)"
    cpu_table = common.md_table(["users", "mix", "Rasa", "action server", "perception", "sum", "load avg"],
                                cpu_rows) if cpu_rows else ""
    plot = plot_latency(figures, folder)
    memory_rows = [[name, m.get("peak_mb"), m.get("tree_peak_mb"), m.get("processes")]
                   for name, m in figures["memory"].items()]
    verdict = interpret(figures)
    shares = figures["mixed_shares"]
    return f"""
Measured on {common.machine_line(figures['machine_at_start'])}. {common.load_note(figures['machine_at_start'])}
The load average of each step is in the CPU table; the comparison text-only vs mixed at the same
user count (run back to back) is the point.

What ran: the real perception service, action server and `rasa run` (model
`{figures['model']}`, SQLite tracker store, rate limits of channels/guard.py off for this
instance, since every simulated customer comes from 127.0.0.1) started by the section
(bench/stack.py). `bench/load.py` (aiohttp) runs N customers in a closed loop with no think
time, each its own sender, a new conversation every 6 turns, {figures['step_seconds']:g} s a
step. Text turns go to `/webhooks/rest/webhook`; in the mixed load
{shares['image']:.0%} of the turns are pictures (screenshots, statements, product photos from
bench/multimodal_material.py) and {shares['voice']:.0%} voice notes (espeak-ng WAV, transcribed
by Whisper) on `/webhooks/multimodal/webhook`. Latency: client-side, answered turns only;
errors: non-2xx, timeouts (120 s), connection errors, empty answers, and `apology` (the
channel's note that it could not use a picture or voice note, e.g. perception slower than its
20 s timeout). The load generator runs on the same machine and takes its share of the cores.

{table}

Text turns alone vs beside picture and voice turns, same user count:

{comparison}

{verdict}

{log_line(figures)}

CPU cores used per process during each step (CPU seconds / wall seconds, children such as
Tesseract included; 2 cores in all):

{cpu_table}

{plot}

Peak memory at the end of the run (VmHWM, MB; "with children": the sum of each member's peak):

{common.md_table(["process", "peak MB", "with children", "processes"], memory_rows)}

Rerun: `.venv/dialogue/bin/python -m bench.load` (`--quick`: 1 and 10 users, 10 s steps).
Against a running server: `python -m bench.load --url http://HOST:PORT --users 10 --mix mixed --seconds 30`
(its rate limits apply: set PARLEY_RATE_*=0 on that server or expect `http_429`).
"""


def log_line(figures: Dict[str, Any]) -> str:
    counts = figures.get("rasa_log")
    if counts is None:
        return ""
    return (f"Counted in Rasa's log over the whole run: {counts['embedding_timeouts']} messages understood "
            f"without their sentence embedding (the perception service slower than the FusionFeaturizer's "
            f"5 s timeout, while Rasa's event loop waited) and {counts['action_apologies']} custom actions "
            f"replaced by an apology; those turns count as answered in the tables.")


def interpret(figures: Dict[str, Any]) -> str:
    """A sentence per user count on how far mixed load moved text latency, and why."""
    lines = []
    for users in figures["users"]:
        alone, mixed = _step(figures, users, "text"), _step(figures, users, "mixed")
        try:
            a = alone["kinds"]["text"]["latency_s"]["p50"]
            m = mixed["kinds"]["text"]["latency_s"]["p50"]
        except (TypeError, KeyError):
            continue
        ratio = m / a
        perception = mixed["cpu_cores_used"].get("perception", 0) - alone["cpu_cores_used"].get("perception", 0)
        if ratio < 1.15:
            what = "the text p50 is practically unchanged"
        elif ratio < 1.5:
            what = "text turns are somewhat slower"
        else:
            what = "text turns are clearly slower"
        got = sum(mixed["cpu_cores_used"].values())
        rasa_alone, rasa_mixed = alone["cpu_cores_used"].get("rasa", 0), mixed["cpu_cores_used"].get("rasa", 0)
        rate_alone = alone["kinds"]["text"]["throughput_per_s"]
        rate_mixed = mixed["kinds"]["text"]["throughput_per_s"]
        lines.append(f"- {users} user{'s' if users > 1 else ''}: text p50 {ratio:.2f}× the text-only figure: {what}; "
                     f"text throughput {rate_alone:.2f} -> {rate_mixed:.2f} turns/s; the perception service used "
                     f"{perception:+.2f} cores and Rasa {rasa_mixed - rasa_alone:+.2f} cores in the mixed step "
                     f"compared with the text-only one; the three processes together got {got:.2f} of the 2 cores "
                     f"(load average {mixed['load_average_1min']}).")
    if lines:
        lines.append("- Read the p50 with the throughput: the loop is closed, so in the mixed step some customers "
                     "are waiting on their own picture or voice note (seconds each) and send no text meanwhile. "
                     "With 1 user that alone explains the lower text throughput (nothing queues; the text p50 is "
                     "the one to read). With many users, where text turns queue in front of Rasa, fewer of them "
                     "queue at any moment; a text p50 that stays level while text throughput falls means each "
                     "text turn took longer to serve.")
    busiest = max((s for s in figures["steps"] if s["mix_name"] == "text"), key=lambda s: s["users"], default=None)
    if busiest and busiest["users"] > 1 and busiest["all"]["throughput_per_s"]:
        rate = busiest["all"]["throughput_per_s"]
        mean = busiest["all"]["latency_s"].get("mean")
        lines.append(f"- Queueing, not failure: text-only at {busiest['users']} users gave {rate:.2f} turns/s, so a "
                     f"closed loop of {busiest['users']} customers waits about {busiest['users']} / {rate:.2f} = "
                     f"{busiest['users'] / rate:.1f} s a turn (Little's law; measured mean "
                     f"{mean if mean is None else round(mean, 1)} s). Rasa runs the NLU pipeline and the policies "
                     f"of one message at a time on its event loop, so its throughput is what one core (here: the "
                     f"{busiest['cpu_cores_used'].get('rasa', 0):.2f} cores it got) allows; more customers only "
                     f"lengthen the queue. The answer to more load is more Rasa instances (make run-scaled).")
    got = [sum(step["cpu_cores_used"].values()) for step in figures["steps"]]
    loads = [step["load_average_1min"] for step in figures["steps"]]
    cores = figures["machine_at_start"].get("cores") or 2
    if got and max(loads) > cores and max(got) < 0.6 * cores:
        lines.insert(0, f"The machine was saturated by other jobs: during the steps the three processes got "
                        f"only {min(got):.2f}–{max(got):.2f} of the {cores} cores while the load average was "
                        f"{min(loads):g}–{max(loads):g}"
                        + (f", and they ran at nice {figures['nice']} (lower priority than the other jobs)"
                           if figures.get("nice") else "")
                        + ". Latencies from 10 users up therefore measure queueing "
                        "for a CPU this benchmark did not have, not the assistant on an idle machine.\n")
    return ("\n".join(lines) + "\n\nWhy text turns slow down beside pictures and voice notes (from the code; "
            "the CPU table below is the measured part): the multimodal channel runs OCR, the image classifier "
            "and Whisper calls in a thread pool, never on Rasa's event loop, but those engines run in the "
            "perception service on the same cores as Rasa, and every text turn needs that service too: the "
            "FusionFeaturizer fetches the message's sentence embedding over HTTP during NLU, and Rasa 3.6 runs "
            "the NLU graph synchronously on its event loop (MessageProcessor._parse_message_with_graph), so "
            "while the perception service is busy with a picture or a voice note that call waits, and every "
            "conversation waits with it (the featurizer gives up after 5 s and uses zeros). On a production "
            "host the perception service gets its own cores or machine (make run-scaled runs two replicas).")


def plot_latency(figures: Dict[str, Any], folder: Path) -> str:
    fig, axes = common.figure()
    for mix, colour in (("text", "tab:blue"), ("mixed", "tab:orange")):
        steps = [s for s in figures["steps"] if s["mix_name"] == mix and s["kinds"].get("text", {}).get("ok")]
        users = [s["users"] for s in steps]
        for key, style in (("p50", "-o"), ("p95", "--o")):
            axes.plot(users, [1000 * s["kinds"]["text"]["latency_s"][key] for s in steps], style, color=colour,
                      label=f"text turns {key}, {'text-only' if mix == 'text' else 'mixed'} load")
    for kind, marker in (("image", "s"), ("voice", "^")):
        steps = [s for s in figures["steps"] if s["mix_name"] == "mixed" and s["kinds"].get(kind, {}).get("ok")]
        if steps:
            axes.plot([s["users"] for s in steps], [1000 * s["kinds"][kind]["latency_s"]["p50"] for s in steps],
                      marker, color="tab:red" if kind == "image" else "tab:green", label=f"{kind} turns p50 (mixed)")
    from matplotlib.ticker import ScalarFormatter

    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xticks(figures["users"])
    for axis in (axes.xaxis, axes.yaxis):
        axis.set_major_formatter(ScalarFormatter())
    axes.set_xlabel("concurrent customers")
    axes.set_ylabel("turn latency (ms)")
    axes.set_title("Turn latency vs concurrent customers")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7)
    return common.save(fig, folder, "load-latency")


# ---------------------------------------------------------------------------- command line


def options(parser: Any) -> None:
    parser.add_argument("--url", default=None, help="load an existing server instead (no section written)")
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--mix", default="text", help="text | mixed | image | voice | call | kind=share,...")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--step", type=float, default=None, help="seconds per step of the section")
    parser.add_argument("--model", default=None, help="a trained model (default: tests/config.yml, trained if needed)")


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = common.arguments(__doc__.splitlines()[0], argv, options)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stops the services it started
    if args.url is None:
        section(args)
        return
    shares = parse_mix(args.mix)
    with tempfile.TemporaryDirectory(prefix="bench-load-") as scratch:
        material = make_material(Path(scratch), pictures=bool(shares.get("image")),
                                 voice=bool(shares.get("voice") or shares.get("call")))
        result = run_load(args.url, args.users, args.seconds, shares, material, timeout=args.timeout)
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
