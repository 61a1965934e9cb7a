"""Sections "speech" and "tts": speech-to-text accuracy and speed, text-to-speech speed and
intelligibility, through the perception service as shipped (one service per engine).

    python -m bench.speech [--quick] [--full] [--out DIR]      # perception venv

Material: the customer-service sentences in bench/data/speech_sentences.txt (111, written for
this benchmark), said by four voices in turn (sentence i by voice i mod 4: espeak-ng en-us,
espeak-ng en-gb+f3, festival cmu_us_slt_arctic_hts, Piper joe through the service's
/v1/synthesize), each clean and with seeded pink noise mixed in at 10 dB SNR (speech power over
its active 20 ms frames, noise power over the clip). Clips are cached as wav under
bench/cache/speech/ (git-ignored), so reruns only transcribe.

speech: word error rate (bench.wer: corpus WER = word edits / reference words), real-time factor
(HTTP round trip / audio duration) and p50/p95 latency per engine x condition, with a per-voice
breakdown. faster-whisper base (int8, shipped) and tiny.en run every clip; openai-whisper on
the same base weights runs a quarter of them in normal mode (every 4th run of four consecutive
sentences, so every voice is in it: 28 clips; all with --full), and every engine's WER on that
subset is reported beside it. Rerun spread: a fixed
subset of clean clips (the first 8, 2 per voice; 6 with --quick) is transcribed again in rounds 2
and 3 (round 2 only with --quick) and the per-round RTF / p50 latency are compared (round 1 =
the main pass).

speech_vocabulary: the company's words (perception/vocabulary.py: hotwords built from the company
pack). faster-whisper base with the vocabulary off (before) and as shipped (after) on the domain
sentences of bench/data/speech_domain_sentences.txt (48: the pack's products, devices, error codes
and order numbers; 12 with --quick), same four voices, clean and at 10 dB SNR, and on the general
sentences' openai-whisper subset (28 clips; skipped with --quick) to show what it costs elsewhere.

tts: the shipped synthesizer (Piper joe) and hibari (heart): latency and RTF (synthesis time /
audio duration) per sentence, intelligibility as round-trip WER (synthesize, then transcribe
with faster-whisper base). Normal mode: every 4th sentence (28; the round trip through Whisper
is the slow part), --full: all 111, --quick: 12; rerun spread over 3 rounds (2 with --quick) of
a fixed 8-sentence subset (6 with --quick).
"""
import hashlib
import io
import tempfile
import time
import wave
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import requests

from bench.common import (ROOT, arguments, figure, machine, machine_line, md_table, results_dir, save, spread,
                          spread_text, summary, write_section)
from bench.perception import Service, only_tasks, shipped_config, speak, timed
from bench.wer import edit_distance, words

SENTENCES_FILE = ROOT / "bench" / "data" / "speech_sentences.txt"
DOMAIN_FILE = ROOT / "bench" / "data" / "speech_domain_sentences.txt"
CACHE = ROOT / "bench" / "cache" / "speech"
VOICES = [("espeak-ng", "en-us"), ("espeak-ng", "en-gb+f3"), ("festival", "cmu_us_slt_arctic_hts"),
          ("piper", "joe")]
SNR_DB = 10.0
CONDITIONS = ("clean", f"noise {SNR_DB:g} dB")
ENGINES = [("faster-whisper base (int8)", "faster-whisper", "base"),
           ("faster-whisper tiny.en (int8)", "faster-whisper", "tiny.en"),
           ("openai-whisper base (fp32)", "openai-whisper", "base")]
SYNTHESIZERS = [("Piper joe (shipped)", "piper"), ("hibari heart", "hibari")]
# the speech_vocabulary section: faster-whisper base without and with the company's words
VOCABULARY = [("before: no vocabulary (shipped)", {"enabled": False}), ("after: pack vocabulary", {"enabled": True})]


def sentences(path: Path = SENTENCES_FILE) -> List[str]:
    lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


# ---------------------------------------------------------------- audio: reading, noise, SNR

def read_wav(data: bytes) -> Tuple[np.ndarray, int]:
    """Mono 16-bit wav -> float samples in -1..1 and the sample rate."""
    with wave.open(io.BytesIO(data)) as wav:
        if wav.getsampwidth() != 2:
            raise ValueError("expected 16-bit PCM")
        rate, channels = wav.getframerate(), wav.getnchannels()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2").astype(np.float64) / 32768.0
    return samples.reshape(-1, channels).mean(axis=1), rate


def write_wav(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((np.clip(samples, -1, 32767 / 32768) * 32768).round().astype("<i2").tobytes())
    return buffer.getvalue()


def active_power(samples: np.ndarray, rate: int, frame_s: float = 0.02, floor_db: float = 40.0) -> float:
    """Mean power of the speech: over the 20 ms frames within floor_db of the loudest frame, so
    leading/trailing silence and pauses don't dilute it (a simple form of ITU-T P.56 active level)."""
    size = max(1, int(rate * frame_s))
    frames = samples[: len(samples) // size * size].reshape(-1, size)
    if not len(frames):
        return float(np.mean(samples ** 2)) if len(samples) else 0.0
    power = np.mean(frames ** 2, axis=1)
    if power.max() <= 0:
        return 0.0
    return float(power[power >= power.max() * 10 ** (-floor_db / 10)].mean())


def pink_noise(length: int, rng: np.random.Generator) -> np.ndarray:
    """Pink (1/f power) noise: white Gaussian noise shaped in the frequency domain, unit power."""
    spectrum = np.fft.rfft(rng.standard_normal(length))
    scale = np.ones(len(spectrum))
    scale[1:] = 1 / np.sqrt(np.arange(1, len(spectrum)))
    scale[0] = 0  # no DC
    noise = np.fft.irfft(spectrum * scale, n=length)
    return noise / np.sqrt(np.mean(noise ** 2))


def mix_noise(clean: np.ndarray, rate: int, snr_db: float, seed: int) -> np.ndarray:
    """clean + pink noise at snr_db (active speech power / noise power). If the sum would clip,
    both are scaled down together, which keeps the SNR."""
    noise = pink_noise(len(clean), np.random.default_rng(seed))
    noise *= np.sqrt(active_power(clean, rate) / 10 ** (snr_db / 10))
    noisy = clean + noise
    peak = np.abs(noisy).max()
    return noisy * (0.99 / peak) if peak > 0.99 else noisy


def measured_snr(clean: np.ndarray, noisy: np.ndarray, rate: int) -> float:
    """SNR (dB) of noisy against its clean speech, with the same scale applied to both."""
    scale = float(np.dot(noisy, clean) / np.dot(clean, clean))  # undo the anti-clipping gain
    noise = noisy / scale - clean
    return 10 * np.log10(active_power(clean, rate) / np.mean(noise ** 2))


# ---------------------------------------------------------------- material

def clip_path(voice: Tuple[str, str], text: str, condition: str) -> Path:
    digest = hashlib.sha1(f"{voice}|{text}".encode()).hexdigest()[:16]
    suffix = "" if condition == "clean" else f"-snr{SNR_DB:g}"
    return CACHE / f"{voice[0]}-{voice[1]}".replace("+", "_") / f"{digest}{suffix}.wav"


def make_clips(texts: Sequence[str], workdir: Path) -> List[Dict[str, Any]]:
    """Sentence i said by voice i mod 4, clean and noisy; made once and cached as wav."""
    plan = [(index, text, VOICES[index % len(VOICES)]) for index, text in enumerate(texts)]
    missing_piper = [(i, t, v) for i, t, v in plan if v[0] == "piper" and not clip_path(v, t, "clean").exists()]
    if missing_piper:
        config = only_tasks(shipped_config(), synthesize={})
        with Service(config, workdir, "speech-material-piper") as service:
            for _, text, voice in missing_piper:
                path = clip_path(voice, text, "clean")
                path.parent.mkdir(parents=True, exist_ok=True)
                response = requests.post(f"{service.url}/v1/synthesize", json={"text": text}, timeout=120)
                response.raise_for_status()
                path.write_bytes(response.content)
    clips = []
    for index, text, voice in plan:
        clean_path = clip_path(voice, text, "clean")
        if not clean_path.exists():
            clean_path.parent.mkdir(parents=True, exist_ok=True)
            speak(voice[0], voice[1], text, clean_path)
        noisy_path = clip_path(voice, text, CONDITIONS[1])
        samples, rate = read_wav(clean_path.read_bytes())
        if not noisy_path.exists():
            noisy_path.write_bytes(write_wav(mix_noise(samples, rate, SNR_DB, seed=index), rate))
        clips.append({"index": index, "text": text, "voice": f"{voice[0]} {voice[1]}", "seconds": len(samples) / rate,
                      "wav": {CONDITIONS[0]: clean_path.read_bytes(), CONDITIONS[1]: noisy_path.read_bytes()}})
    return clips


# ---------------------------------------------------------------- measuring

def transcribe_all(url: str, clips: Sequence[Dict[str, Any]], condition: str) -> List[Dict[str, Any]]:
    results = []
    for clip in clips:
        elapsed, response = timed(lambda: requests.post(
            f"{url}/v1/transcribe", files={"file": ("clip.wav", clip["wav"][condition])}, data={"language": "en"},
            timeout=300))
        ref, hyp = words(clip["text"]), words(response.json()["text"])
        results.append({"index": clip["index"], "voice": clip["voice"], "seconds": clip["seconds"], "latency": elapsed,
                        "rtf": elapsed / clip["seconds"], "edits": edit_distance(ref, hyp), "ref_words": len(ref)})
    return results


def subset(clips: Sequence[Dict[str, Any]], every: int) -> List[Dict[str, Any]]:
    """Every `every`-th group of len(VOICES) consecutive clips: a subset with every voice in it."""
    return [c for c in clips if (c["index"] // len(VOICES)) % every == 0]


def corpus_wer(rows: Sequence[Dict[str, Any]]) -> float:
    return round(sum(r["edits"] for r in rows) / max(1, sum(r["ref_words"] for r in rows)), 4)


def describe(rows: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    voices = sorted({r["voice"] for r in rows})
    return {"clips": len(rows), "audio_s": round(sum(r["seconds"] for r in rows), 1), "wer": corpus_wer(rows),
            "rtf": round(sum(r["latency"] for r in rows) / sum(r["seconds"] for r in rows), 4),
            "latency_s": summary([r["latency"] for r in rows]),
            "wer_by_voice": {v: corpus_wer([r for r in rows if r["voice"] == v]) for v in voices}}


def bench_stt(clips: List[Dict[str, Any]], engines: Sequence[Tuple[str, str, str]], subset_every: Dict[str, int],
              spread_clips: List[Dict[str, Any]], rounds: int, workdir: Path) -> Dict[str, Any]:
    config = shipped_config()
    figures: Dict[str, Any] = {}
    every = max(subset_every.values(), default=1)
    subset_indices = {c["index"] for c in subset(clips, every)}
    for label, engine, model in engines:
        chosen = subset(clips, subset_every.get(label, 1))
        service = Service(only_tasks(config, transcribe={"engine": engine, "options": {"model": model}}), workdir,
                          f"stt-{engine}-{model}")
        with service:
            # warm-up: the first request pays for lazy allocations
            transcribe_all(service.url, spread_clips[:1], CONDITIONS[0])
            row: Dict[str, Any] = {"engine": engine, "model": model, "start_s": round(service.start_s, 1)}
            first_round = []
            for condition in CONDITIONS:
                results = transcribe_all(service.url, chosen, condition)
                row[condition] = describe(results)
                row.setdefault("subset_wer", {})[condition] = corpus_wer(
                    [r for r in results if r["index"] in subset_indices])
                if condition == CONDITIONS[0]:
                    first_round = [r for r in results if r["index"] in {c["index"] for c in spread_clips}]
            per_round = [first_round] + [transcribe_all(service.url, spread_clips, CONDITIONS[0])
                                         for _ in range(rounds - 1)]
            row["spread"] = {
                "clips": len(spread_clips),
                "rtf": spread([sum(r["latency"] for r in rr) / sum(r["seconds"] for r in rr) for rr in per_round]),
                "latency_p50_s": spread([summary([r["latency"] for r in rr])["p50"] for rr in per_round])}
            row["peak_rss_mb"] = service.peak_rss_mb()
            row["subset_clips"] = len(subset_indices)
        figures[label] = row
        print(f"speech: {label}: " + ", ".join(f"{c} WER {row[c]['wer']:.3f} RTF {row[c]['rtf']:.3f}"
                                               for c in CONDITIONS), flush=True)
    return figures


def bench_vocabulary(sets: Dict[str, List[Dict[str, Any]]], workdir: Path) -> Dict[str, Any]:
    """WER of faster-whisper base on each set of clips, both conditions, without and with the
    company's words (None: the shipped vocabulary options)."""
    config = shipped_config()
    figures: Dict[str, Any] = {}
    for label, vocabulary in VOCABULARY:
        options = {"model": "base", "vocabulary": vocabulary}
        with Service(only_tasks(config, transcribe={"engine": "faster-whisper", "options": options}), workdir,
                     f"vocabulary-{len(figures)}") as service:
            health = requests.get(f"{service.url}/health", timeout=10).json()
            first = next(iter(sets.values()))
            transcribe_all(service.url, first[:1], CONDITIONS[0])  # warm-up
            row: Dict[str, Any] = {"vocabulary": health["engines"]["transcribe"].get("vocabulary")}
            for name, clips in sets.items():
                row[name] = {condition: describe(transcribe_all(service.url, clips, condition))
                             for condition in CONDITIONS}
        figures[label] = row
        print(f"speech_vocabulary: {label}: " + ", ".join(
            f"{name} {condition} WER {row[name][condition]['wer']:.3f}" for name in sets for condition in CONDITIONS),
            flush=True)
    return figures


def vocabulary_markdown(figures: Dict[str, Any], info: Dict[str, Any], mode: str) -> str:
    settings = figures["settings"]
    labels = list(settings)
    rows = []
    for name, about in figures["sets"].items():
        for condition in CONDITIONS:
            before, after = (settings[label][name][condition]["wer"] for label in labels)
            rows.append([about, condition, settings[labels[0]][name][condition]["clips"], f"{before:.3f}",
                         f"{after:.3f}", f"{after - before:+.3f}",
                         f"{settings[labels[0]][name][condition]['rtf']:.3f} / {settings[labels[1]][name][condition]['rtf']:.3f}"])
    table = md_table(["sentences", "condition", "clips", "WER before", "WER after", "change", "RTF before / after"],
                     rows, numeric=[False, False, True, True, True, True, False])
    domain = settings[labels[0]]["domain"][CONDITIONS[0]]["wer_by_voice"]
    voice_rows = [[label.split(":")[0], condition] + [f"{settings[label]['domain'][condition]['wer_by_voice'][v]:.3f}"
                                                      for v in sorted(domain)]
                  for condition in CONDITIONS for label in labels]
    voice_table = md_table(["", "condition"] + sorted(domain), voice_rows,
                           numeric=[False, False] + [True] * len(domain))
    shipped = settings[labels[1]]["vocabulary"] or {}
    return f"""Machine: {machine_line(info)} ({mode} run). faster-whisper base (int8, beam 1, Silero VAD) through
`/v1/transcribe` (`language: en`), once with the company's words off (`vocabulary: {{enabled: false}}`)
and once as shipped: a glossary built at start-up from the company pack (packs/brightwave; sources
{', '.join(figures['sources'])}; perception/vocabulary.py), given to Whisper as `{shipped.get('as', '?')}`
({shipped.get('tokens', '?')} tokens). Domain sentences: bench/data/speech_domain_sentences.txt
({figures['domain_sentences']}, what customers say about the pack's products, codes and orders; codes
and order numbers said letter by letter and digit by digit), sentence *i* said by voice *i* mod 4
as in the speech section, clean and with pink noise at {SNR_DB:g} dB SNR. General sentences: the
speech section's clips that openai-whisper also runs (every voice), to show the glossary's effect
on sentences without the company's words. WER as in the speech section.

{table}

Domain sentences, WER by voice:

{voice_table}
"""


def bench_tts(texts: Sequence[str], spread_texts: Sequence[str], rounds: int, workdir: Path) -> Dict[str, Any]:
    config = shipped_config()
    figures: Dict[str, Any] = {}
    base = only_tasks(config, transcribe={})
    with Service(base, workdir, "tts-transcriber") as transcriber:
        for label, engine in SYNTHESIZERS:
            with Service(only_tasks(config, synthesize={"engine": engine}), workdir, f"tts-{engine}") as service:
                def synthesize(text: str) -> Tuple[float, float, bytes]:
                    elapsed, response = timed(lambda: requests.post(f"{service.url}/v1/synthesize",
                                                                    json={"text": text}, timeout=120))
                    seconds = read_wav(response.content)
                    return elapsed, len(seconds[0]) / seconds[1], response.content

                synthesize(texts[0])  # warm-up
                made = [(text, *synthesize(text)) for text in texts]
                per_round = [[m[:3] for m in made if m[0] in spread_texts]]
                per_round += [[(text, *synthesize(text)[:2]) for text in spread_texts] for _ in range(rounds - 1)]
                start_s, peak = service.start_s, service.peak_rss_mb()
            rows = []
            for text, elapsed, seconds, audio in made:
                heard = requests.post(f"{transcriber.url}/v1/transcribe", files={"file": ("s.wav", audio)},
                                      data={"language": "en"}, timeout=300)
                heard.raise_for_status()
                ref, hyp = words(text), words(heard.json()["text"])
                rows.append({"latency": elapsed, "seconds": seconds, "edits": edit_distance(ref, hyp),
                             "ref_words": len(ref)})
            figures[label] = {
                "engine": engine, "sentences": len(rows), "audio_s": round(sum(r["seconds"] for r in rows), 1),
                "rtf": round(sum(r["latency"] for r in rows) / sum(r["seconds"] for r in rows), 4),
                "latency_s": summary([r["latency"] for r in rows]),
                "round_trip_wer": corpus_wer(rows), "start_s": round(start_s, 1), "peak_rss_mb": peak,
                "spread": {"sentences": len(spread_texts),
                           "rtf": spread([sum(x[1] for x in rr) / sum(x[2] for x in rr) for rr in per_round]),
                           "latency_p50_s": spread([summary([x[1] for x in rr])["p50"] for rr in per_round])}}
            print(f"tts: {label}: RTF {figures[label]['rtf']:.3f}, round-trip WER {figures[label]['round_trip_wer']:.3f}",
                  flush=True)
    return figures


# ---------------------------------------------------------------- report

def stt_markdown(figures: Dict[str, Any], info: Dict[str, Any], plots: List[str], mode: str) -> str:
    engines = figures["engines"]
    rows = []
    for label, row in engines.items():
        for condition in CONDITIONS:
            cell = row[condition]
            rows.append([label, condition, cell["clips"], f"{cell['wer']:.3f}", f"{cell['rtf']:.3f}",
                         f"{cell['latency_s']['p50']:.2f}", f"{cell['latency_s']['p95']:.2f}"])
    main_table = md_table(["engine", "condition", "clips", "WER", "RTF", "p50 s", "p95 s"], rows,
                          numeric=[False, False, True, True, True, True, True])
    voices = sorted(next(iter(engines.values()))[CONDITIONS[0]]["wer_by_voice"])
    voice_rows = [[label, condition] + [f"{row[condition]['wer_by_voice'][v]:.3f}" if v in row[condition]['wer_by_voice'] else "–"
                                      for v in voices]
                  for label, row in engines.items() for condition in CONDITIONS]
    voice_table = md_table(["engine", "condition"] + voices, voice_rows,
                           numeric=[False, False] + [True] * len(voices))
    spread_rows = [[label, row["spread"]["clips"], spread_text(row["spread"]["rtf"]),
                    spread_text(row["spread"]["latency_p50_s"], " s", 2), row["start_s"],
                    "" if row["peak_rss_mb"] is None else f"{row['peak_rss_mb']:.0f}"]
                   for label, row in engines.items()]
    spread_table = md_table(["engine", "clips", "RTF per round", "p50 latency per round", "start-up s", "peak MB"],
                            spread_rows, numeric=[False, True, False, False, True, True])
    every = figures.get("openai_whisper_every")
    subset_table = ""
    if every and every > 1:
        clips_in = next(iter(engines.values())).get("subset_clips")
        subset_table = (f"Same clips for every engine: openai-whisper's subset ({clips_in} clips, every voice), WER:\n\n"
                        + md_table(["engine"] + list(CONDITIONS),
                                   [[label] + [f"{row['subset_wer'][c]:.3f}" for c in CONDITIONS]
                                    for label, row in engines.items()], numeric=[False, True, True]))
    return f"""Machine: {machine_line(info)} ({mode} run). Through the perception service as shipped
(`/v1/transcribe`, `language: en`, beam 1, Silero VAD filter on), one service per engine, sequential
requests from a client on the same machine. {figures['sentences']} customer-service sentences
(bench/data/speech_sentences.txt), sentence *i* said by voice *i* mod 4 (espeak-ng en-us, espeak-ng
en-gb+f3, festival cmu_us_slt_arctic_hts, Piper joe): {figures['audio_s']} s of speech. Each clip
clean and with seeded pink noise at {SNR_DB:g} dB SNR (active speech power / noise power).
WER = word edits / reference words over all clips (bench/wer.py normalisation: case, punctuation,
numbers up to twelve and digit strings as words). RTF = HTTP round trip / audio duration
(summed over clips); latency includes the upload.
{f"openai-whisper ran on a quarter of the clips, every voice included (both conditions); `--full` runs it on all." if every and every > 1 else ""}

{main_table}

{subset_table}

WER by voice:

{voice_table}

Rerun spread: the first {next(iter(engines.values()))['spread']['clips']} clean clips' RTF and p50
latency in the main pass and in {figures['rounds'] - 1} repeat pass(es) of those clips.

{spread_table}

{chr(10).join(plots)}
"""


def tts_markdown(figures: Dict[str, Any], info: Dict[str, Any], plot: str, mode: str) -> str:
    rows = [[label, row["sentences"], f"{row['rtf']:.3f}", f"{row['latency_s']['p50']:.3f}",
             f"{row['latency_s']['p95']:.3f}", f"{row['round_trip_wer']:.3f}", spread_text(row["spread"]["rtf"]),
             row["start_s"], "" if row["peak_rss_mb"] is None else f"{row['peak_rss_mb']:.0f}"]
            for label, row in figures["synthesizers"].items()]
    table = md_table(["synthesizer", "sentences", "RTF", "p50 s", "p95 s", "round-trip WER",
                      "RTF per round (spread subset)", "start-up s", "peak MB"], rows,
                     numeric=[False, True, True, True, True, True, False, True, True])
    return f"""Machine: {machine_line(info)} ({mode} run). `/v1/synthesize` (wav) of the perception service,
one service per synthesizer, sequential requests: {figures['sentences']} sentences of
bench/data/speech_sentences.txt ({'all' if figures['sentences'] > 100 else 'the first 12' if figures['sentences'] == 12 else 'every 4th one; `--full`: all'}).
RTF = HTTP round trip / duration of the audio returned (summed over sentences). Intelligibility:
round-trip WER, the audio transcribed by faster-whisper base (the shipped speech-to-text) and
scored against the sentence. Rerun spread: {figures['rounds']} rounds of a fixed
{next(iter(figures['synthesizers'].values()))['spread']['sentences']}-sentence subset.

{table}

{plot}
"""


def plots(figures: Dict[str, Any], folder: Path) -> List[str]:
    engines = figures["engines"]
    labels = list(engines)
    fig, axes = figure(7.5, 4)
    width = 0.38
    for offset, condition, colour in ((-width / 2, CONDITIONS[0], "#0b3d91"), (width / 2, CONDITIONS[1], "#e07b39")):
        values = [engines[label][condition]["wer"] for label in labels]
        bars = axes.bar([i + offset for i in range(len(labels))], values, width, label=condition, color=colour)
        axes.bar_label(bars, fmt="%.3f", fontsize=8)
    axes.set_xticks(range(len(labels)), [label.replace(" (", "\n(") for label in labels], fontsize=8)
    axes.set_ylabel("word error rate")
    axes.set_title("Speech to text: WER by engine and condition")
    axes.legend()
    wer_plot = save(fig, folder, "speech-wer")

    fig, axes = figure(7.5, 4)
    for offset, condition, colour in ((-width / 2, CONDITIONS[0], "#0b3d91"), (width / 2, CONDITIONS[1], "#e07b39")):
        values = [engines[label][condition]["rtf"] for label in labels]
        bars = axes.bar([i + offset for i in range(len(labels))], values, width, label=condition, color=colour)
        axes.bar_label(bars, fmt="%.3f", fontsize=8)
    for i, label in enumerate(labels):  # rerun spread of the clean subset as a range marker
        s = engines[label]["spread"]["rtf"]
        axes.plot([i - width / 2] * 2, [s["min"], s["max"]], color="black", linewidth=2)
    axes.set_xticks(range(len(labels)), [label.replace(" (", "\n(") for label in labels], fontsize=8)
    axes.set_ylabel("real-time factor (lower is faster)")
    axes.set_title("Speech to text: RTF by engine (black: rerun range)")
    axes.legend()
    rtf_plot = save(fig, folder, "speech-rtf")
    return [wer_plot, rtf_plot]


def tts_plot(figures: Dict[str, Any], folder: Path) -> str:
    synths = figures["synthesizers"]
    labels = list(synths)
    fig, _ = figure(8, 3.5)
    fig.clear()
    left, right = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    bars = left.bar(labels, [synths[label]["rtf"] for label in labels], color="#0b3d91")
    left.bar_label(bars, fmt="%.3f", fontsize=8)
    left.set_ylabel("real-time factor")
    left.set_title("Synthesis speed")
    bars = right.bar(labels, [synths[label]["round_trip_wer"] for label in labels], color="#e07b39")
    right.bar_label(bars, fmt="%.3f", fontsize=8)
    right.set_ylabel("WER (Whisper base)")
    right.set_title("Round-trip intelligibility")
    for axes in (left, right):
        axes.tick_params(axis="x", labelsize=8)
    return save(fig, folder, "tts")


def main(argv: Optional[Sequence[str]] = None) -> None:
    args = arguments(__doc__.splitlines()[0], argv)
    mode = "quick" if args.quick else "full" if args.full else "normal"
    texts = sentences()
    rounds = 2 if args.quick else 3
    if args.quick:
        texts = texts[:12]
        engines = ENGINES[:2]
    else:
        engines = ENGINES
    subset_every = {} if args.full or args.quick else {ENGINES[2][0]: 4}
    folder = results_dir(args.out)
    with tempfile.TemporaryDirectory(prefix="bench-speech-") as temp:
        workdir = Path(temp)
        started = time.time()
        info = machine()
        clips = make_clips(texts, workdir)
        spread_clips = clips[: 6 if args.quick else 8]
        stt = {"sentences": len(clips), "audio_s": round(sum(c["seconds"] for c in clips), 1), "rounds": rounds,
               "snr_db": SNR_DB, "voices": [f"{e} {v}" for e, v in VOICES],
               "openai_whisper_every": subset_every.get(ENGINES[2][0], 1),
               "engines": bench_stt(clips, engines, subset_every, spread_clips, rounds, workdir)}
        stt["plots"] = plots(stt, folder)
        write_section("speech", "Speech to text: accuracy and speed", stt, stt_markdown(stt, info, stt["plots"], mode),
                      out=args.out, started=started)

        started = time.time()
        info = machine()
        domain = sentences(DOMAIN_FILE)[: 12 if args.quick else None]
        sets = {"domain": make_clips(domain, workdir)}
        about = {"domain": "domain (pack's words)"}
        if not args.quick:
            sets["general"] = subset(clips, 4)
            about["general"] = "general (speech section subset)"
        vocabulary = {"domain_sentences": len(domain), "snr_db": SNR_DB, "sets": about,
                      "sources": shipped_config()["tasks"]["transcribe"]["options"]["vocabulary"]["sources"],
                      "settings": bench_vocabulary(sets, workdir)}
        write_section("speech_vocabulary", "Speech to text: the company's words", vocabulary,
                      vocabulary_markdown(vocabulary, info, mode), out=args.out, started=started)

        started = time.time()
        info = machine()
        tts_texts = texts if (args.full or args.quick) else texts[::4]
        tts = {"sentences": len(tts_texts), "rounds": rounds,
               "synthesizers": bench_tts(tts_texts, tts_texts[: 6 if args.quick else 8], rounds, workdir)}
        tts["plot"] = tts_plot(tts, folder)
        write_section("tts", "Text to speech: speed and intelligibility", tts, tts_markdown(tts, info, tts["plot"], mode),
                      out=args.out, started=started)


if __name__ == "__main__":
    main()
