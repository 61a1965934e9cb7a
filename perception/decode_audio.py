"""Decode an uploaded audio file to 16 kHz mono float32 with PyAV, stopping at the duration cap.

The bytes are read from memory (no file path, no URL): FFmpeg never opens a protocol, and the
demuxer is forced to the format sniffed from the magic bytes, and any nested open is limited to
the protocols file and pipe, so a playlist or a file that points elsewhere cannot make it read
anything else. Decoding stops as soon as the audio passes
`max_seconds`: a file claiming 24 hours costs at most the cap.
"""
import io
from typing import List

import numpy as np

from perception.errors import APIError

DEMUXERS = {"wav": "wav", "ogg": "ogg", "webm": "matroska", "mp3": "mp3", "m4a": "mp4", "flac": "flac"}


def decode_audio(data: bytes, fmt: str, max_seconds: float, sample_rate: int = 16000) -> np.ndarray:
    """float32 samples in [-1, 1]; APIError 413 past the cap, 422 when not decodable or empty."""
    import av

    max_samples = int(max_seconds * sample_rate)
    chunks: List[np.ndarray] = []
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r", format=DEMUXERS[fmt], metadata_errors="ignore",
                     options={"protocol_whitelist": "file,pipe"}) as container:
            if not container.streams.audio:
                raise APIError(422, "undecodable_audio", f"this {fmt} file holds no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1)
                    total += samples.size
                    if total > max_samples:
                        raise APIError(413, "audio_too_long",
                                       f"audio longer than the limit of {max_seconds:g} seconds")
                    chunks.append(samples)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except APIError:
        raise
    except (av.error.FFmpegError, ValueError, IndexError, EOFError, OSError) as error:
        if not chunks:
            raise APIError(422, "undecodable_audio",
                           f"the {fmt} audio could not be decoded ({type(error).__name__})")
        # a file cut short: keep what decoded cleanly before the damage
    audio = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
    if audio.size == 0:
        raise APIError(422, "empty_audio", f"the {fmt} file holds no audio samples")
    audio = audio[:max_samples].astype(np.float32, copy=False)
    return np.clip(audio, -1.0, 1.0)
