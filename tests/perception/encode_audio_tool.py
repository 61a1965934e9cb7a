"""Re-encode a WAV into the formats clients send, with PyAV (run it with the perception venv).

  .venv/perception/bin/python tests/perception/encode_audio_tool.py IN.wav OUT_DIR ogg webm mp3 m4a flac

Writes OUT_DIR/speech.<format> for each format and prints the paths. The tests themselves run on
Python 3.10 without PyAV, hence this separate tool.
"""
import sys
from pathlib import Path

import av

# format -> (container, codec, sample rate, bit rate)
TARGETS = {
    "wav": ("wav", "pcm_s16le", 16000, None),
    "ogg": ("ogg", "libopus", 48000, 32000),
    "webm": ("webm", "libopus", 48000, 32000),
    "mp3": ("mp3", "libmp3lame", 22050, 64000),
    "m4a": ("mp4", "aac", 22050, 64000),  # AAC in an MP4/M4A container
    "flac": ("flac", "flac", 16000, None),
}


def encode(source: Path, target: Path, fmt: str) -> None:
    container_format, codec, rate, bit_rate = TARGETS[fmt]
    with av.open(str(source)) as reader, av.open(str(target), mode="w", format=container_format) as writer:
        stream = writer.add_stream(codec, rate=rate, layout="mono")
        if bit_rate:
            stream.bit_rate = bit_rate
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=rate)
        frames = [*(out for frame in reader.decode(audio=0) for out in resampler.resample(frame)),
                  *resampler.resample(None)]
        for frame in frames:
            frame.pts = None
            writer.mux(stream.encode(frame))
        writer.mux(stream.encode(None))


def main() -> None:
    source, out_dir, formats = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
    out_dir.mkdir(parents=True, exist_ok=True)
    for fmt in formats:
        target = out_dir / f"speech.{fmt}"
        encode(source, target, fmt)
        print(target)


if __name__ == "__main__":
    main()
