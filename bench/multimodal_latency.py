"""Do picture turns stall other conversations? Text-turn latency alone vs next to picture turns.

Run with the dialogue venv from the repository root:

    .venv/dialogue/bin/python -m bench.multimodal_latency [--model models/X.tar.gz] [--turns 40]

Starts the real processes (perception service, action server, `rasa run` with the multimodal
channel), then measures one customer's text-only turns over the REST channel (a) alone and (b)
while two other customers keep sending screenshots, statements and photos to
/webhooks/multimodal/webhook, and (c) while two clients send the same pictures straight to the
perception service. The channel analyses pictures in worker threads and the
AttachmentAnalyzer only reads the saved analysis, so (b) should differ from (a) by CPU sharing
(the perception service's image engines run on the same cores), not by seconds-long stalls of
Rasa's event loop. A control (c) sends the same pictures straight to the perception service,
bypassing Rasa: the same CPU load without any picture turn in Rasa. Without --model it trains
tests/config.yml (scripts/train.sh) first.
Writes bench/results/<date>/multimodal_latency.json and prints the table.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Dict, List

import requests

from tests import services

ROOT = services.ROOT
TEXT_TURNS = ["hello", "how much is the aero 14?", "what is the warranty on the vista 55?",
              "do you ship outside the US?", "thanks", "how do I reset my password?"]
PICTURE_TURNS = [("what does this mean?", "web_2002_light.png"), ("[image]", "statement_late_fee.png"),
                 (None, "photo_laptop_blue.jpg"), ("is this covered?", "photo_speaker_black.jpg"),
                 ("[image]", "app_router_r01.png")]


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(seconds: List[float]) -> Dict[str, float]:
    return {"n": len(seconds), "p50_ms": round(1000 * statistics.median(seconds), 1),
            "p95_ms": round(1000 * percentile(seconds, 0.95), 1), "max_ms": round(1000 * max(seconds), 1)}


def text_turns(url: str, count: int) -> List[float]:
    timings = []
    for number in range(count):
        sender = f"latency-text-{uuid.uuid4().hex[:8]}"
        started = time.perf_counter()
        response = requests.post(f"{url}/webhooks/rest/webhook",
                                 json={"sender": sender, "message": TEXT_TURNS[number % len(TEXT_TURNS)]},
                                 timeout=120)
        response.raise_for_status()
        timings.append(time.perf_counter() - started)
    return timings


def picture_turns(url: str, pictures: Path, stop: threading.Event, timings: List[float]) -> None:
    number = 0
    while not stop.is_set():
        text, name = PICTURE_TURNS[number % len(PICTURE_TURNS)]
        number += 1
        fields = {"sender": (None, f"latency-picture-{uuid.uuid4().hex[:8]}")}
        parts = list(fields.items())
        if text:
            parts.append(("message", (None, text)))
        parts.append(("attachment", (name, (pictures / name).read_bytes(), "application/octet-stream")))
        started = time.perf_counter()
        response = requests.post(f"{url}/webhooks/multimodal/webhook", files=parts, timeout=180)
        if response.ok:
            timings.append(time.perf_counter() - started)


def pictures_to_perception(url: str, pictures: Path, stop: threading.Event, timings: List[float]) -> None:
    """The same pictures straight to the perception service: the CPU load without Rasa."""
    number = 0
    while not stop.is_set():
        _, name = PICTURE_TURNS[number % len(PICTURE_TURNS)]
        number += 1
        started = time.perf_counter()
        response = requests.post(f"{url}/v1/image/analyze", files={"file": (name, (pictures / name).read_bytes())},
                                 timeout=180)
        if response.ok:
            timings.append(time.perf_counter() - started)


def beside(target, url: str, pictures: Path, senders: int, text_url: str, turns: int):
    """Text-turn timings while `senders` threads run `target`; and the target's own timings."""
    stop, timings = threading.Event(), []
    threads = [threading.Thread(target=target, args=(url, pictures, stop, timings), daemon=True)
               for _ in range(senders)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    text = text_turns(text_url, turns)
    stop.set()
    for thread in threads:
        thread.join(timeout=200)
    return text, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--picture-senders", type=int, default=2)
    args = parser.parse_args()
    out = ROOT / "bench" / "results" / datetime.now().strftime("%Y-%m-%d")
    out.mkdir(parents=True, exist_ok=True)
    processes: List[services.Service] = []
    with tempfile.TemporaryDirectory(prefix="latency-") as scratch:
        folder = Path(scratch)
        names = [name.rsplit(".", 1)[0] for _, name in PICTURE_TURNS]
        subprocess.run([str(services.VENV_PERCEPTION / "bin" / "python"),
                        str(ROOT / "bench" / "multimodal_material.py"), str(folder / "pictures"), *names],
                       check=True, cwd=ROOT, env=services.base_env())
        try:
            perception = services.start_perception("latency-perception")
            processes.append(perception)
            perception_url = perception.health_url.rsplit("/health", 1)[0]
            model = args.model or services.train_model("tests/config.yml", perception_url)
            db = services.seed_db(folder / "company.db")
            actions = services.start_actions("latency-actions", db, perception_url)
            processes.append(actions)
            rasa = services.start_rasa("latency-rasa", model, actions.health_url.rsplit("/health", 1)[0],
                                       perception_url, folder / "tracker.db", uuid.uuid4().hex,
                                       attachments_dir=folder / "attachments")
            processes.append(rasa)
            url = rasa.health_url.rstrip("/")
            text_turns(url, 6)  # warm-up
            alone = text_turns(url, args.turns)
            with_pictures, pictures_timings = beside(picture_turns, url, folder / "pictures",
                                                     args.picture_senders, url, args.turns)
            with_load, load_timings = beside(pictures_to_perception, perception_url, folder / "pictures",
                                             args.picture_senders, url, args.turns)
        finally:
            for process in reversed(processes):
                process.stop()
    report = {"text_alone": summary(alone), "text_beside_pictures": summary(with_pictures),
              "text_beside_perception_load": summary(with_load),
              "picture_turns": summary(pictures_timings) if pictures_timings else None,
              "pictures_to_perception": summary(load_timings) if load_timings else None,
              "picture_senders": args.picture_senders, "model": str(model)}
    (out / "multimodal_latency.json").write_text(json.dumps(report, indent=1) + "\n")
    print("| turns | n | p50 ms | p95 ms | max ms |\n| --- | --: | --: | --: | --: |")
    for label, key in (("text turns alone", "text_alone"),
                       ("text turns beside picture turns", "text_beside_pictures"),
                       ("text turns beside the same pictures sent to perception directly",
                        "text_beside_perception_load"),
                       ("picture turns (multimodal channel)", "picture_turns"),
                       ("pictures to /v1/image/analyze directly", "pictures_to_perception")):
        if report[key]:
            row = report[key]
            print(f"| {label} | {row['n']} | {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |")


if __name__ == "__main__":
    main()
