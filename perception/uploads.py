"""Uploaded files: read the multipart body within the limits and sniff the real format
(perception/formats.py): the file name and the Content-Type a client sends are never trusted."""
from dataclasses import dataclass
from typing import Dict

from starlette.datastructures import UploadFile
from starlette.requests import Request

from perception.errors import APIError
from perception.formats import FORMATS, MIME_TYPES, sniff
from perception.limits import BodyTooLarge

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
