"""Uploaded files: read the multipart body within the limits and sniff the real format.

The format comes from the file's first bytes only; the file name and the Content-Type a client
sends are never trusted. Each kind (audio, image) accepts a fixed list of formats.
"""
from dataclasses import dataclass
from typing import Dict, Optional

from starlette.datastructures import UploadFile
from starlette.requests import Request

from perception.errors import APIError
from perception.limits import BodyTooLarge

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


@dataclass
class Upload:
    data: bytes
    format: str
    fields: Dict[str, str]

    @property
    def mime_type(self) -> str:
        return MIME_TYPES[self.format]


async def read_upload(request: Request, kind: str, field: str = "file") -> Upload:
    """The one file of a multipart request, checked: present, not empty, a supported format.

    The body size is capped by the BodyLimit middleware before this reads anything.
    """
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise APIError(415, "not_multipart",
                       f"send the {kind} as multipart/form-data in the field '{field}'")
    try:
        form = await request.form(max_files=1, max_fields=16)
    except (APIError, BodyTooLarge):
        raise
    except Exception as error:  # malformed multipart bodies
        raise APIError(400, "malformed_multipart", "the multipart/form-data body is malformed and could not be read")
    upload = form.get(field)
    if not isinstance(upload, UploadFile):
        raise APIError(422, "missing_file", f"no file in the multipart field '{field}'")
    data = await upload.read()
    await form.close()
    if not data:
        raise APIError(400, "empty_file", f"the {kind} file is empty (0 bytes)")
    found = sniff(data[:16])
    if found is None or found not in FORMATS[kind]:
        raise APIError(415, "unsupported_format",
                       f"this is not a supported {kind} file; send one of: {', '.join(FORMATS[kind])}")
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    return Upload(data=data, format=found, fields=fields)
