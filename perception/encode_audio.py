"""Encode synthesized speech: 16-bit PCM WAV, or Opus in Ogg (48 kHz, what Opus requires)."""
import io
import wave

import numpy as np

MEDIA_TYPES = {"wav": "audio/wav", "ogg": "audio/ogg"}


def to_pcm16(samples: np.ndarray) -> np.ndarray:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).round().astype("<i2")


def encode_wav(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(to_pcm16(samples).tobytes())
    return buffer.getvalue()


def encode_ogg_opus(samples: np.ndarray, rate: int, bitrate: int = 32000) -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=48000, layout="mono")
        stream.bit_rate = bitrate
        frame = av.AudioFrame.from_ndarray(to_pcm16(samples).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = rate
        resampler = av.AudioResampler(format=stream.codec_context.format.name, layout="mono", rate=48000)
        for resampled in resampler.resample(frame) + resampler.resample(None):
            container.mux(stream.encode(resampled))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def encode_audio(samples: np.ndarray, rate: int, fmt: str) -> bytes:
    if samples.size == 0:  # an engine with nothing to say: 20 ms of silence, a valid file
        samples = np.zeros(max(1, rate // 50), dtype=np.float32)
    if fmt == "wav":
        return encode_wav(samples, rate)
    if fmt == "ogg":
        return encode_ogg_opus(samples, rate)
    raise ValueError(f"unknown audio format {fmt}")
