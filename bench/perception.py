"""Section "perception": latency, real-time factor and peak memory of every perception endpoint.

Run with the perception venv: python -m bench.perception [--quick] [--out DIR]. It starts the
service with the shipped perception/config.yml (every engine in one process), makes its material
locally (espeak-ng speech, the Chromium and Pillow pictures of tests/perception/make_images.py)
and times sequential HTTP requests from a client on the same machine, in 3 rounds (2 with
--quick) for the rerun spread. Accuracy is elsewhere: bench/speech.py (WER of the speech-to-text
engines, TTS intelligibility), bench/ocr.py (OCR character error rate).

`Service`, `speak` and `wav_seconds` are shared with those sections.
"""
import io
import os
import signal
import subprocess
import sys
import tempfile
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import requests
import yaml

from bench.common import (ROOT, arguments, figure, free_port, machine_line, md_table, peak_rss_mb, save,
                          spread, spread_text, summary, write_section)

SENTENCES = [
    "Where is my order? I ordered a laptop last week and it has not arrived.",
    "My order number is four five seven one and my email is on the account.",
    "The screen shows error code B W one zero zero one when I try to pay.",
    "I would like to return the headphones because they stopped working.",
    "Can I speak to a person about a refund for my broken television?",
    "The router light keeps blinking red and the internet does not work.",
    "Please cancel my order, I changed my mind.",
    "How long is the warranty on the smart speaker?",
    "I was charged twice for the same order on my statement.",
    "Can you change the delivery address to my office?",
]


def shipped_config() -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "perception" / "config.yml").read_text())


class Service:
    """The perception service in a child process (its own session, so stop() ends all of it)."""

    def __init__(self, config: Dict[str, Any], workdir: Path, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        path = workdir / f"{name}.yml"
        path.write_text(yaml.safe_dump(config))
        env = dict(os.environ, PERCEPTION_CONFIG=str(path), PERCEPTION_PORT=str(self.port),
                   PERCEPTION_HOST="127.0.0.1", PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
        self.log_path = workdir / f"{name}.log"
        self.log = self.log_path.open("wb")
        started = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "perception"], env=env, cwd=ROOT,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        while True:
            if self.process.poll() is not None:
                self.log.close()
                raise SystemExit(f"the perception service ({name}) failed to start: see {self.log_path}")
            try:
                if requests.get(f"{self.url}/health", timeout=2).json().get("status") == "ok":
                    break
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.5)
        self.start_s = time.perf_counter() - started

    def peak_rss_mb(self) -> Optional[float]:
        return peak_rss_mb(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=60)
        self.log.close()

    def __enter__(self) -> "Service":
        return self

    def __exit__(self, *_: Any) -> None:
        self.stop()


def only_tasks(config: Dict[str, Any], **tasks: Dict[str, Any]) -> Dict[str, Any]:
    """The config with just the given tasks, each given as {engine/options overrides}."""
    chosen = {}
    for task, overrides in tasks.items():
        base = dict(config["tasks"][task])
        base["options"] = {**base.get("options", {}), **overrides.get("options", {})}
        if "engine" in overrides:
            base["engine"] = overrides["engine"]
        chosen[task] = base
    return {**config, "tasks": chosen}


def speak(engine: str, voice: str, text: str, path: Path) -> Path:
    """A wav of text said by espeak-ng (voice e.g. en-us, en-gb+m3) or festival (cmu_us_slt_arctic_hts)."""
    if engine == "espeak-ng":
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    elif engine == "festival":
        subprocess.run(["text2wave", "-o", str(path), "-eval", f"(voice_{voice})"],
                       input=text.encode(), check=True, capture_output=True)
    else:
        raise ValueError(f"unknown speech engine {engine}")
    return path


def wav_seconds(data: bytes) -> float:
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getnframes() / wav.getframerate()


def timed(function: Callable[[], requests.Response]) -> tuple:
    started = time.perf_counter()
    response = function()
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response


def one_round(url: str, audio: List[Dict[str, Any]], images: Dict[str, Path], repeat: int) -> Dict[str, Dict[str, List[float]]]:
    """Latencies (s) per endpoint, plus real-time factors / throughput where they apply."""
    post = requests.post
    rows: Dict[str, Dict[str, List[float]]] = {}
    rows["embed, 1 text"] = {"latency": [timed(lambda: post(f"{url}/v1/embed", json={"texts": [SENTENCES[i % 10]]}, timeout=30))[0]
                                         for i in range(repeat * 3)]}
    texts = SENTENCES * 3 + SENTENCES[:2]
    rows["embed, 32 texts"] = {"latency": [timed(lambda: post(f"{url}/v1/embed", json={"texts": texts}, timeout=30))[0]
                                           for _ in range(repeat)]}
    latency, rtf = [], []
    for clip in audio:
        elapsed, _ = timed(lambda: post(f"{url}/v1/transcribe", files={"file": ("a.wav", clip["wav"])}, timeout=120))
        latency.append(elapsed)
        rtf.append(elapsed / clip["seconds"])
    rows["transcribe (faster-whisper base, int8)"] = {"latency": latency, "rtf": rtf}
    latency, rtf = [], []
    for text in SENTENCES[:repeat]:
        elapsed, response = timed(lambda: post(f"{url}/v1/synthesize", json={"text": text}, timeout=120))
        latency.append(elapsed)
        rtf.append(elapsed / wav_seconds(response.content))
    rows["synthesize (Piper joe)"] = {"latency": latency, "rtf": rtf}
    for name, path in images.items():
        data = path.read_bytes()
        for endpoint in ("ocr", "image/analyze"):
            rows[f"{endpoint}, {name}"] = {"latency": [
                timed(lambda: post(f"{url}/v1/{endpoint}", files={"file": (path.name, data)}, timeout=120))[0]
                for _ in range(repeat)]}
    photo = images["photo"].read_bytes()
    for concurrency in (1, 8):
        def one(_: int) -> float:
            return timed(lambda: post(f"{url}/v1/image/analyze", files={"file": ("p.jpg", photo)}, timeout=120))[0]
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            latency = list(pool.map(one, range(4 * repeat)))
        rows[f"image/analyze, photo, concurrency {concurrency}"] = {
            "latency": latency, "images_per_s": [len(latency) / (time.perf_counter() - started)]}
    return rows


def combine(rounds: Sequence[Dict[str, Dict[str, List[float]]]]) -> Dict[str, Any]:
    """Per endpoint: latency summary over all rounds, the spread of its per-round p50, mean RTF."""
    figures: Dict[str, Any] = {}
    for name in rounds[0]:
        pooled = [x for r in rounds for x in r[name]["latency"]]
        row = {"latency_s": summary(pooled),
               "p50_spread_s": spread([summary(r[name]["latency"])["p50"] for r in rounds])}
        for extra in ("rtf", "images_per_s"):
            if extra in rounds[0][name]:
                per_round = [sum(r[name][extra]) / len(r[name][extra]) for r in rounds]
                row[extra] = spread(per_round)
        figures[name] = row
    return figures


def markdown(figures: Dict[str, Any], info: Dict[str, Any], rounds: int) -> str:
    rows = []
    for name, row in figures["endpoints"].items():
        other = []
        if "rtf" in row:
            other.append(f"RTF {spread_text(row['rtf'])}")
        if "images_per_s" in row:
            other.append(f"{spread_text(row['images_per_s'], digits=1)} images/s")
        rows.append([name, row["latency_s"]["n"], f"{row['latency_s']['p50']:.3f}", f"{row['latency_s']['p95']:.3f}",
                     spread_text(row["p50_spread_s"]), "; ".join(other)])
    table = md_table(["endpoint", "n", "p50 s", "p95 s", "p50 per round: median (min–max)", "other"], rows,
                     numeric=[False, True, True, True, False, False])
    return f"""Machine: {machine_line(info)}. The shipped `perception/config.yml`, every engine in one
process: start-up {figures['service_start_s']:.1f} s, peak memory {figures['service_peak_rss_mb']:.0f} MB.
Sequential HTTP requests from a client on the same machine unless a concurrency is given, in
{rounds} rounds; n counts all rounds. Speech: espeak-ng (en-us, en-gb) saying {len(SENTENCES)}
customer-service sentences; pictures: tests/perception/make_images.py (a Chromium-rendered error
page 1280×800, a Pillow-rendered invoice, scikit-image's coffee photo). RTF = HTTP round trip /
audio duration (per round: the mean over its clips). Accuracy of these engines: the speech, tts
and ocr sections.

{table}

{figures['plot']}
"""


def plot(figures: Dict[str, Any], folder: Path) -> str:
    names = list(figures)
    fig, axes = figure(8, 5)
    p50 = [figures[n]["latency_s"]["p50"] for n in names]
    p95 = [figures[n]["latency_s"]["p95"] for n in names]
    y = range(len(names))
    axes.barh(y, p95, color="#c6d4ee", label="p95")
    axes.barh(y, p50, color="#0b3d91", label="p50")
    axes.set_yticks(list(y), names, fontsize=8)
    axes.invert_yaxis()
    axes.set_xlabel("latency (s)")
    axes.set_title("Perception endpoints (shipped config)")
    axes.legend()
    return save(fig, folder, "perception-latency")


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = arguments(__doc__.splitlines()[0], argv)
    started = time.time()
    rounds = 2 if args.quick else 3
    repeat = 3 if args.quick else 10
    from bench.common import machine, results_dir

    info = machine()
    with tempfile.TemporaryDirectory(prefix="bench-perception-") as temp:
        workdir = Path(temp)
        audio = []
        for voice in ("en-us", "en-gb"):
            for index, text in enumerate(SENTENCES[: repeat // 2 + 1] if args.quick else SENTENCES):
                data = speak("espeak-ng", voice, text, workdir / f"{voice}-{index}.wav").read_bytes()
                audio.append({"wav": data, "seconds": wav_seconds(data)})
        subprocess.run([sys.executable, str(ROOT / "tests" / "perception" / "make_images.py"), str(workdir)],
                       check=True, capture_output=True)
        images = {"screenshot": workdir / "error_page.png", "invoice": workdir / "invoice.png",
                  "photo": workdir / "coffee.jpg"}
        with Service(shipped_config(), workdir, "all") as service:
            measured = [one_round(service.url, audio, images, repeat) for _ in range(rounds)]
            figures: Dict[str, Any] = {"service_start_s": round(service.start_s, 2),
                                       "service_peak_rss_mb": service.peak_rss_mb(),
                                       "rounds": rounds, "audio_clips": len(audio),
                                       "endpoints": combine(measured)}
    folder = results_dir(args.out)
    figures["plot"] = plot(figures["endpoints"], folder)
    write_section("perception", "Perception service endpoints", figures, markdown(figures, info, rounds),
                  out=args.out, started=started)


if __name__ == "__main__":
    main()
