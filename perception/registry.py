"""Which engine serves which task, built from config.yml.

Engines are named by import path so that a task's heavy libraries are imported only when an
engine for it is configured.
"""
import importlib
import logging
from typing import Any, Dict

from perception.engines.base import Engine
from perception.errors import ModelLoadError
from perception.runner import EngineRunner

log = logging.getLogger(__name__)

ENGINES: Dict[str, Dict[str, str]] = {
    "embed": {"minilm": "perception.engines.embeddings:MiniLMEmbedder"},
    "transcribe": {
        "faster-whisper": "perception.engines.faster_whisper:FasterWhisperTranscriber",
        "openai-whisper": "perception.engines.openai_whisper:OpenAIWhisperTranscriber",
    },
    "vad": {"silero": "perception.engines.silero_vad:SileroVAD"},
    "synthesize": {
        "piper": "perception.engines.piper_tts:PiperSynthesizer",
        "hibari": "perception.engines.hibari_tts:HibariSynthesizer",
        "coqui": "perception.engines.coqui_tts:CoquiSynthesizer",
    },
    "ocr": {"tesseract": "perception.engines.tesseract_ocr:TesseractOCR"},
    "image": {"efficientnet-lite0": "perception.engines.efficientnet:EfficientNetClassifier"},
}


def engine_class(task: str, name: str) -> type:
    try:
        path = ENGINES[task][name]
    except KeyError:
        known = ", ".join(f"{t}:{n}" for t, names in ENGINES.items() for n in names)
        raise ModelLoadError(f"unknown engine '{name}' for task '{task}' (known: {known})")
    module_name, class_name = path.split(":")
    return getattr(importlib.import_module(module_name), class_name)


class Registry:
    """Holds one runner per configured task."""

    def __init__(self, config: Dict[str, Any]) -> None:
        self.config = config
        self.runners: Dict[str, EngineRunner] = {}

    def load_all(self) -> None:
        """Load and warm up every configured engine; any failure stops start-up."""
        for task, spec in (self.config.get("tasks") or {}).items():
            engine: Engine = engine_class(task, spec["engine"])(spec.get("options") or {})
            log.info("loading %s engine %s", task, spec["engine"])
            engine.load()
            engine.warmup()
            self.runners[task] = EngineRunner(engine, **(spec.get("queue") or {}))

    def runner(self, task: str) -> EngineRunner:
        from perception.errors import APIError

        if task not in self.runners:
            raise APIError(503, "engine_not_loaded", f"no engine is loaded for '{task}'")
        return self.runners[task]

    def health(self) -> Dict[str, Any]:
        return {task: runner.status() for task, runner in self.runners.items()}
