"""File formats from magic bytes (standard library only: the dialogue side uses it too).

The format comes from the file's first bytes only; the file name and the Content-Type a client
sends are never trusted. Each kind (audio, image) accepts a fixed list of formats.
"""
from typing import Optional

AUDIO_FORMATS = ("wav", "ogg", "webm", "mp3", "m4a", "flac")
IMAGE_FORMATS = ("png", "jpeg", "webp")
FORMATS = {"audio": AUDIO_FORMATS, "image": IMAGE_FORMATS}
MIME_TYPES = {
    "wav": "audio/wav", "ogg": "audio/ogg", "webm": "audio/webm", "mp3": "audio/mpeg",
    "m4a": "audio/mp4", "flac": "audio/flac",
    "png": "image/png", "jpeg": "image/jpeg", "webp": "image/webp",
}


def sniff(head: bytes) -> Optional[str]:
    """The format named by a file's magic bytes, or None when it is none we know."""
    if head[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if head[:3] == b"\xff\xd8\xff":
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"OggS":
        return "ogg"
    if head[:4] == b"\x1a\x45\xdf\xa3":  # EBML: WebM / Matroska
        return "webm"
    if head[:4] == b"fLaC":
        return "flac"
    if head[4:8] == b"ftyp":  # ISO base media (m4a, mp4 audio)
        return "m4a"
    if head[:3] == b"ID3":
        return "mp3"
    # an MPEG audio frame: 11 sync bits, then a layer that is not "reserved" (00 is AAC ADTS)
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06:
        return "mp3"
    return None


def kind_of(fmt: str) -> Optional[str]:
    """'audio' or 'image' for a sniffed format."""
    return next((kind for kind, formats in FORMATS.items() if fmt in formats), None)
