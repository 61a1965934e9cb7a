"""`make bench-perception`: latency, real-time factor and peak memory of every perception endpoint.

Run with the perception venv: python -m bench.perception [--quick] [--out DIR]. It starts the
service itself (the shipped config), makes its material locally (espeak-ng and festival speech,
Chromium and Pillow screenshots, scikit-image photos), then starts one service per speech-to-text
engine on the same audio to compare faster-whisper with openai-whisper on the same weights.
"""
import argparse
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

import requests
import yaml

from bench.wer import wer

ROOT = Path(__file__).resolve().parents[1]
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
VOICES = [("espeak-ng", "en-us"), ("espeak-ng", "en-gb"), ("espeak-ng", "en-us+f3"), ("festival", "slt")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Service:
    """The perception service in a child process, with its peak memory read from /proc."""

    def __init__(self, config: Dict[str, Any], workdir: Path, name: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        path = workdir / f"{name}.yml"
        path.write_text(yaml.safe_dump(config))
        env = dict(os.environ, PERCEPTION_CONFIG=str(path), PERCEPTION_PORT=str(self.port),
                   PERCEPTION_HOST="127.0.0.1", PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1")
        self.log = (workdir / f"{name}.log").open("wb")
        started = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "perception"], env=env, cwd=ROOT,
                                        stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        while True:
            if self.process.poll() is not None:
                raise SystemExit(f"the perception service ({name}) failed to start: see {workdir / name}.log")
            try:
                if requests.get(f"{self.url}/health", timeout=2).json().get("status") == "ok":
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        self.start_s = time.perf_counter() - started

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


def speak(engine: str, voice: str, text: str, path: Path) -> Path:
    if engine == "espeak-ng":
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True)
    else:
        subprocess.run(["text2wave", "-o", str(path), "-eval", "(voice_cmu_us_slt_arctic_hts)"],
                       input=text.encode(), check=True, capture_output=True)
    return path


def wav_seconds(data: bytes) -> float:
    import io
    import wave

    with wave.open(io.BytesIO(data)) as wav:
        return wav.getnframes() / wav.getframerate()


def timed(function: Callable[[], requests.Response]) -> tuple:
    started = time.perf_counter()
    response = function()
    elapsed = time.perf_counter() - started
    response.raise_for_status()
    return elapsed, response


def summary(values: List[float]) -> Dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(values), "p50": statistics.median(ordered), "p95": p95, "mean": statistics.fmean(ordered)}


def bench_endpoints(url: str, audio: List[Dict[str, Any]], images: Dict[str, Path], repeat: int) -> Dict[str, Any]:
    post = requests.post
    results: Dict[str, Any] = {}
    results["embed (1 text)"] = summary([timed(lambda: post(f"{url}/v1/embed", json={"texts": [SENTENCES[i % 10]]}, timeout=30))[0]
                                         for i in range(repeat * 3)])
    results["embed (32 texts)"] = summary([timed(lambda: post(f"{url}/v1/embed", json={"texts": SENTENCES * 3 + SENTENCES[:2]}, timeout=30))[0]
                                           for _ in range(repeat)])
    latencies, factors, errors = [], [], []
    for clip in audio:
        elapsed, response = timed(lambda: post(f"{url}/v1/transcribe", files={"file": ("a.wav", clip["wav"])}, timeout=120))
        latencies.append(elapsed)
        factors.append(elapsed / clip["seconds"])
        errors.append(wer(clip["text"], response.json()["text"]))
    results["transcribe"] = {**summary(latencies), "rtf": statistics.fmean(factors), "wer": statistics.fmean(errors)}
    latencies, factors, errors = [], [], []
    for text in SENTENCES[:repeat]:
        elapsed, response = timed(lambda: post(f"{url}/v1/synthesize", json={"text": text}, timeout=120))
        latencies.append(elapsed)
        factors.append(elapsed / wav_seconds(response.content))
        heard = post(f"{url}/v1/transcribe", files={"file": ("s.wav", response.content)}, timeout=120).json()["text"]
        errors.append(wer(text, heard))
    results["synthesize"] = {**summary(latencies), "rtf": statistics.fmean(factors), "round_trip_wer": statistics.fmean(errors)}
    for name, path in images.items():
        data = path.read_bytes()
        results[f"ocr ({name})"] = summary([timed(lambda: post(f"{url}/v1/ocr", files={"file": (path.name, data)}, timeout=120))[0]
                                            for _ in range(repeat)])
        results[f"image/analyze ({name})"] = summary(
            [timed(lambda: post(f"{url}/v1/image/analyze", files={"file": (path.name, data)}, timeout=120))[0]
             for _ in range(repeat)])
    photo = images["photo"].read_bytes()
    for concurrency in (1, 8):
        def one(_):
            return timed(lambda: post(f"{url}/v1/image/analyze", files={"file": ("p.jpg", photo)}, timeout=120))[0]
        started = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            latencies = list(pool.map(one, range(8 * repeat // 2 or 8)))
        results[f"image/analyze photo, concurrency {concurrency}"] = {
            **summary(latencies), "images_per_s": len(latencies) / (time.perf_counter() - started)}
    return results


def stt_engines(quick: bool) -> List[tuple]:
    engines = [("faster-whisper", "base"), ("faster-whisper", "tiny.en"), ("openai-whisper", "base")]
    return engines if not quick else engines[:1] + engines[2:]


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and clips")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / datetime.now().strftime("%Y-%m-%d")))
    args = parser.parse_args(argv)
    repeat = 3 if args.quick else 10
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="bench-perception-"))
    voices = VOICES[:2] if args.quick else VOICES
    voices = [v for v in voices if shutil.which(v[0] if v[0] != "festival" else "text2wave")]
    sentences = SENTENCES[:5] if args.quick else SENTENCES
    audio = []
    for engine, voice in voices:
        for index, text in enumerate(sentences):
            data = speak(engine, voice, text, workdir / f"{engine}-{voice}-{index}.wav".replace("+", "_")).read_bytes()
            audio.append({"text": text, "voice": f"{engine}:{voice}", "wav": data, "seconds": wav_seconds(data)})
    subprocess.run([sys.executable, str(ROOT / "tests" / "perception" / "make_images.py"), str(workdir)],
                   check=True, capture_output=True)
    images = {"screenshot": workdir / "error_page.png", "statement": workdir / "invoice.png", "photo": workdir / "coffee.jpg"}

    config = yaml.safe_load((ROOT / "perception" / "config.yml").read_text())
    report: Dict[str, Any] = {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                              "machine": machine(), "quick": args.quick, "audio_clips": len(audio),
                              "audio_seconds": round(sum(c["seconds"] for c in audio), 1)}
    service = Service(config, workdir, "all")
    try:
        report["service_start_s"] = service.start_s
        report["endpoints"] = bench_endpoints(service.url, audio[: repeat * 2], images, repeat)
        report["service_peak_rss_mb"] = service.peak_rss_mb()
    finally:
        service.stop()

    report["speech_to_text"] = {}
    for engine, model in stt_engines(args.quick):
        only = {**config, "tasks": {"transcribe": {**config["tasks"]["transcribe"], "engine": engine,
                                                   "options": {**config["tasks"]["transcribe"]["options"], "model": model}}}}
        stt = Service(only, workdir, f"stt-{engine}-{model}")
        try:
            factors, errors, seconds = [], [], []
            for clip in audio:
                elapsed, response = timed(lambda: requests.post(f"{stt.url}/v1/transcribe", files={"file": ("a.wav", clip["wav"])}, timeout=300))
                seconds.append(elapsed)
                factors.append(elapsed / clip["seconds"])
                errors.append(wer(clip["text"], response.json()["text"]))
            report["speech_to_text"][f"{engine} {model}"] = {
                "clips": len(audio), "wer": statistics.fmean(errors), "rtf": statistics.fmean(factors),
                **{f"latency_{k}": v for k, v in summary(seconds).items() if k in ("p50", "p95")},
                "start_s": stt.start_s, "peak_rss_mb": stt.peak_rss_mb()}
        finally:
            stt.stop()
    (out / "perception.json").write_text(json.dumps(report, indent=2))
    print_report(report)
    print(f"\nwritten: {out / 'perception.json'}")
    shutil.rmtree(workdir, ignore_errors=True)


def machine() -> Dict[str, Any]:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"cpu": model, "cores": os.cpu_count(), "python": platform.python_version()}


def print_report(report: Dict[str, Any]) -> None:
    m = report["machine"]
    print(f"\nPerception service, {m['cores']} cores ({m['cpu']}), {report['date']}"
          f"{' (quick)' if report['quick'] else ''}")
    print(f"start-up with every engine: {report['service_start_s']:.1f} s; peak memory {report['service_peak_rss_mb']:.0f} MB")
    print(f"\n{'endpoint':44} {'n':>3} {'p50 s':>7} {'p95 s':>7}  extra")
    for name, row in report["endpoints"].items():
        extra = "  ".join(f"{k} {v:.3f}" for k, v in row.items() if k not in ("n", "p50", "p95", "mean"))
        print(f"{name:44} {row['n']:>3} {row['p50']:>7.3f} {row['p95']:>7.3f}  {extra}")
    print(f"\nspeech to text on the same {report['audio_clips']} clips ({report['audio_seconds']} s of espeak-ng/festival speech)")
    print(f"{'engine':28} {'WER':>6} {'RTF':>6} {'p50 s':>7} {'p95 s':>7} {'start s':>8} {'peak MB':>8}")
    for name, row in report["speech_to_text"].items():
        print(f"{name:28} {row['wer']:>6.3f} {row['rtf']:>6.3f} {row['latency_p50']:>7.2f} {row['latency_p95']:>7.2f} "
              f"{row['start_s']:>8.1f} {row['peak_rss_mb']:>8.0f}")


if __name__ == "__main__":
    main()
