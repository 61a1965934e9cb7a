"""Speech to text with the openai-whisper package (PyTorch): Whisper base or tiny.en.

No package ships openai-whisper's own checkpoints, so on first start the checkpoint is rebuilt
from the same CTranslate2 weights faster-whisper uses (perception/engines/whisper_convert.py) into
var/models/openai-whisper-<model>.pt. Audio is fed as numpy (openai-whisper's own loader needs
ffmpeg, which the service does not use).

openai-whisper has no VAD, so silence and noise are handled like faster-whisper does: Silero VAD
(the ONNX model bundled in the faster-whisper package) finds the speech; audio without any gives
empty text at once, and only the speech parts are decoded (timings are mapped back to the input).
Whisper's own rule (no_speech_prob > 0.6 with avg_logprob < -1) then drops silent segments.
openai-whisper has no hotwords: the company's words (perception/vocabulary.py) go in as the initial
prompt, carried into every 30 s window when `as: hotwords`.
"""
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from perception.engines.base import pick_device
from perception.engines.faster_whisper import (LOGPROB_THRESHOLD, MODELS, NO_SPEECH_THRESHOLD,
                                               SAMPLE_RATE, WhisperTranscriber, build_result,
                                               lead_in, model_dir, resolve_path, speech_chunks)
from perception.errors import ModelLoadError

PIP_NAME = "openai-whisper==20250625"


def original_time(seconds: float, chunks: List[Tuple[int, int]], is_end: bool) -> float:
    """A time in the concatenated speech chunks mapped back to the input audio.

    A time on the border of two chunks is the end of the first one for a segment end, and the
    start of the next one for a segment start.
    """
    sample, position = round(seconds * SAMPLE_RATE), 0
    for start, end in chunks:
        length = end - start
        if sample < position + length or (is_end and sample == position + length):
            return (start + max(0.0, sample - position)) / SAMPLE_RATE
        position += length
    return chunks[-1][1] / SAMPLE_RATE if chunks else seconds


class OpenAIWhisperTranscriber(WhisperTranscriber):
    name = "openai-whisper"

    def load(self) -> None:
        model = str(self.options.get("model", "base"))
        if model not in MODELS:
            raise ModelLoadError(f"unknown Whisper model '{model}' (known: {', '.join(MODELS)})")
        try:
            import torch
            import whisper
        except ImportError as error:
            raise ModelLoadError(f"openai-whisper missing: pip install {PIP_NAME}") from error
        self.vad_filter = bool(self.options.get("vad_filter", True))
        if self.vad_filter:
            try:
                from faster_whisper.vad import get_vad_model
            except ImportError as error:
                raise ModelLoadError("the VAD needs faster-whisper: pip install faster-whisper==1.2.1") from error
            get_vad_model()
        checkpoint = resolve_path(self.options.get("checkpoint") or f"var/models/openai-whisper-{model}.pt")
        self.device = pick_device(self.options.get("device", "auto"))
        if self.options.get("cpu_threads"):
            torch.set_num_threads(int(self.options["cpu_threads"]))
        try:
            self.model = self._load(whisper, checkpoint, model, rebuild=not checkpoint.is_file())
        except ModelLoadError:
            raise
        except Exception as error:  # a damaged default checkpoint is rebuilt once; a chosen one is not
            if self.options.get("checkpoint"):
                raise ModelLoadError(f"{checkpoint} could not be loaded ({type(error).__name__}): "
                                     "delete it to rebuild it") from error
            self.model = self._load(whisper, checkpoint, model, rebuild=True)
        self.english_only = not self.model.is_multilingual
        if self.english_only != model.endswith(".en"):
            raise ModelLoadError(f"{checkpoint} does not hold Whisper {model}: delete it to rebuild it")
        self.languages = set(whisper.tokenizer.LANGUAGES)
        self.model_name = MODELS[model]["name"]
        tokenizer = whisper.tokenizer.get_tokenizer(self.model.is_multilingual, num_languages=self.model.num_languages)
        self.load_vocabulary(lambda text: len(tokenizer.encode(text)))
        self.loaded = True

    def _load(self, whisper, checkpoint: Path, model: str, rebuild: bool):
        if rebuild:
            from perception.engines.whisper_convert import convert_file

            convert_file(model_dir(model, self.options.get("cache_dir")) / "model.bin", checkpoint)
        return whisper.load_model(str(checkpoint), device=self.device)

    def transcribe(self, audio: np.ndarray, language: Optional[str],
                   vad_filter: Optional[bool] = None) -> Dict[str, Any]:
        """Forward: float32 mono 16 kHz samples in [-1, 1] -> text, language and segments."""
        import whisper

        audio, duration, language = self.prepare(audio, language)
        chunks = [(0, len(audio))]
        if (self.vad_filter if vad_filter is None else vad_filter) and len(audio):
            chunks = speech_chunks(audio, self.options.get("vad_parameters"))
        if not len(audio) or not chunks:  # nothing to hear: no decoding at all
            return build_result([], language or "", 1.0 if language else 0.0, duration)
        speech = np.concatenate([audio[start:end] for start, end in chunks])
        offset = float(self.options.get("lead_in_s", 0.2))
        speech = lead_in(speech, offset)
        probability = 1.0
        if language is None:
            mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(speech), self.model.dims.n_mels)
            _, probs = self.model.detect_language(mel.to(self.model.device))
            language = max(probs, key=probs.get)
            probability = float(probs[language])
        beam_size = int(self.options.get("beam_size", 1))
        result = whisper.transcribe(
            self.model, speech, language=language, task="transcribe", verbose=None,
            fp16=self.device == "cuda", beam_size=beam_size if beam_size > 1 else None,
            condition_on_previous_text=False, no_speech_threshold=NO_SPEECH_THRESHOLD,
            logprob_threshold=LOGPROB_THRESHOLD, initial_prompt=self.prompt_for(len(speech) / SAMPLE_RATE - offset),
            carry_initial_prompt=self.prompt_as == "hotwords",
        )
        segments = [{**segment,
                     "start": original_time(max(0.0, segment["start"] - offset), chunks, False),
                     "end": original_time(max(0.0, segment["end"] - offset), chunks, True)}
                    for segment in result["segments"]]
        return build_result(segments, language, probability, duration)

    def info(self) -> Dict[str, Any]:
        info = super().info()
        if self.loaded:
            info.update(device=self.device)
        return info
