"""What every engine provides: load once, warm up, describe itself."""
import hashlib
import importlib
from pathlib import Path
from typing import Any, Dict

from perception.errors import ModelLoadError


class Engine:
    task = ""  # embed, transcribe, synthesize, ocr, image
    name = ""
    model_name = ""  # set by load(): which weights answer (shown in responses and /health)

    def __init__(self, options: Dict[str, Any]) -> None:
        self.options = options
        self.loaded = False

    def load(self) -> None:
        """Load weights (blocking). Raise ModelLoadError with the package to install."""
        raise NotImplementedError

    def warmup(self) -> None:
        """Run one tiny inference so the first real request is not slow."""

    def describe(self) -> Dict[str, Any]:
        return {"engine": self.name, "model": self.model_name}

    def info(self) -> Dict[str, Any]:
        return {**self.describe(), "loaded": self.loaded}


def package_dir(import_name: str, pip_name: str) -> Path:
    """The folder of an installed model package, or a ModelLoadError naming it."""
    try:
        module = importlib.import_module(import_name)
    except ImportError as error:
        raise ModelLoadError(
            f"model package missing: install '{pip_name}' (pip install {pip_name})"
        ) from error
    return Path(module.__file__).resolve().parent


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 1 MiB blocks (model files are hundreds of MB)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str, pip_name: str) -> None:
    if not path.is_file():
        raise ModelLoadError(f"model file {path} missing: reinstall '{pip_name}'")
    found = file_sha256(path)
    if found != expected:
        raise ModelLoadError(
            f"model file {path} is corrupt (sha256 {found} != {expected}): reinstall '{pip_name}'"
        )


def pick_device(requested: str = "auto") -> str:
    if requested != "auto":
        return requested
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
