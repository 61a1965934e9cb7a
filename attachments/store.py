"""The attachment store: files customers sent, kept on disk by a generated id (standard library only).

The tracker never holds raw bytes, only the reference `save` returns::

    {"id": "att_<32 hex>", "sha256": "...", "mime": "image/png", "format": "png",
     "kind": "image" | "audio", "size": 12345, "created": "2025-01-31T12:00:00+00:00"}

Layout under the root (``ATTACHMENTS_DIR``, default ``<repo>/var/attachments``), sharded by the
first two hex digits of the id so that no folder grows too large::

    <root>/<ab>/att_ab...          the file's bytes (mode 0600)
    <root>/<ab>/att_ab....json     the reference above
    <root>/<ab>/att_ab....analysis.json   the perception service's analysis, when there is one

Every write goes to a temporary file in the same folder and is then renamed over the target
(`os.replace`), so a reader sees either nothing or a complete file. Ids are checked against
``att_`` + 32 lowercase hex digits before any path is built, so an id can never name a file
outside the root. `purge` is the retention job (`python -m attachments.purge`).
"""
import hashlib
import json
import logging
import os
import re
import tempfile
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Union

from perception.formats import MIME_TYPES, kind_of, sniff

logger = logging.getLogger(__name__)

ID_PATTERN = re.compile(r"att_[0-9a-f]{32}")
SHARD_PATTERN = re.compile(r"[0-9a-f]{2}")
REF_SUFFIX = ".json"
ANALYSIS_SUFFIX = ".analysis.json"
TMP_SUFFIX = ".tmp"
DEFAULT_ROOT = Path(__file__).resolve().parents[1] / "var" / "attachments"


def is_valid_id(attachment_id: Any) -> bool:
    """True for a well-formed attachment id (``att_`` + 32 lowercase hex digits)."""
    return isinstance(attachment_id, str) and ID_PATTERN.fullmatch(attachment_id) is not None


def _check_id(attachment_id: Any) -> str:
    if not is_valid_id(attachment_id):
        raise ValueError("invalid attachment id")
    return attachment_id


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class AttachmentStore:
    """Attachments on the local disk; see the module docstring for the layout."""

    def __init__(self, root: Optional[Union[str, Path]] = None) -> None:
        self.root = Path(root or os.environ.get("ATTACHMENTS_DIR") or DEFAULT_ROOT).resolve()

    # ------------------------------------------------------------------ paths

    def _folder(self, attachment_id: str) -> Path:
        return self.root / attachment_id[4:6]

    def path(self, attachment_id: str) -> Path:
        """Where the attachment's bytes are (or would be)."""
        attachment_id = _check_id(attachment_id)
        return self._folder(attachment_id) / attachment_id

    def _ref_path(self, attachment_id: str) -> Path:
        return self._folder(attachment_id) / f"{attachment_id}{REF_SUFFIX}"

    def _analysis_path(self, attachment_id: str) -> Path:
        return self._folder(attachment_id) / f"{attachment_id}{ANALYSIS_SUFFIX}"

    # ----------------------------------------------------------------- writes

    @staticmethod
    def _write_atomic(target: Path, data: bytes) -> None:
        """Write to a temporary file beside `target`, flush it to disk, then rename it over."""
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                             suffix=TMP_SUFFIX)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, target)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:
                pass
            raise

    @staticmethod
    def _json_bytes(value: Dict[str, Any]) -> bytes:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False).encode("utf-8")

    def save(self, data: bytes, fmt: Optional[str] = None) -> Dict[str, Any]:
        """Store `data` and return its reference.

        `fmt` is the format perception.formats.sniff named for these bytes (sniffed here when
        None); a format that is not an image or audio format, or one the bytes do not start with,
        is refused with ValueError, as is an empty file.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError("data must be bytes")
        data = bytes(data)
        if not data:
            raise ValueError("empty attachment")
        sniffed = sniff(data[:64])
        if fmt is None:
            fmt = sniffed
        kind = kind_of(fmt) if fmt else None
        if kind is None or fmt not in MIME_TYPES:
            raise ValueError("unsupported attachment format")
        if sniffed != fmt:
            raise ValueError(f"the bytes are not {fmt}")
        attachment_id = f"att_{uuid.uuid4().hex}"
        ref = {
            "id": attachment_id,
            "sha256": hashlib.sha256(data).hexdigest(),
            "mime": MIME_TYPES[fmt],
            "format": fmt,
            "kind": kind,
            "size": len(data),
            "created": _utc_now().isoformat(timespec="seconds"),
        }
        # the bytes first, then the reference: a reference always names a complete file
        self._write_atomic(self.path(attachment_id), data)
        self._write_atomic(self._ref_path(attachment_id), self._json_bytes(ref))
        return dict(ref)

    def save_analysis(self, attachment_id: str, analysis: Dict[str, Any]) -> None:
        """Keep the perception service's analysis of an attachment beside its file."""
        attachment_id = _check_id(attachment_id)
        if not isinstance(analysis, dict):
            raise TypeError("analysis must be a dict")
        if not self.path(attachment_id).is_file():
            raise FileNotFoundError(f"no attachment {attachment_id}")
        self._write_atomic(self._analysis_path(attachment_id), self._json_bytes(analysis))

    def delete(self, attachment_id: str) -> bool:
        """Remove an attachment, its reference and its analysis; True when there was a file."""
        attachment_id = _check_id(attachment_id)
        return self._remove(attachment_id)

    def _remove(self, attachment_id: str) -> bool:
        removed = False
        for path in (self._analysis_path(attachment_id), self._ref_path(attachment_id),
                     self.path(attachment_id)):
            try:
                path.unlink()
                removed = removed or path.name == attachment_id
            except FileNotFoundError:
                pass
        return removed

    # ------------------------------------------------------------------ reads

    def read(self, attachment_id: str) -> bytes:
        """The attachment's bytes (FileNotFoundError when there is none)."""
        return self.path(attachment_id).read_bytes()

    def _read_json(self, path: Path) -> Optional[Dict[str, Any]]:
        try:
            value = json.loads(path.read_bytes())
        except FileNotFoundError:
            return None
        except ValueError:
            logger.warning("attachment store: unreadable JSON in %s", path.name)
            return None
        return value if isinstance(value, dict) else None

    def ref(self, attachment_id: str) -> Optional[Dict[str, Any]]:
        """The reference `save` returned, or None when there is no such attachment."""
        attachment_id = _check_id(attachment_id)
        return self._read_json(self._ref_path(attachment_id))

    def analysis(self, attachment_id: str) -> Optional[Dict[str, Any]]:
        """The saved analysis, or None when none was saved."""
        attachment_id = _check_id(attachment_id)
        return self._read_json(self._analysis_path(attachment_id))

    def exists(self, attachment_id: str) -> bool:
        return self.path(attachment_id).is_file()

    def ids(self) -> Iterator[str]:
        """Every stored attachment id (in no particular order)."""
        if not self.root.is_dir():
            return
        for shard in self.root.iterdir():
            if not (shard.is_dir() and SHARD_PATTERN.fullmatch(shard.name)):
                continue
            for entry in shard.iterdir():
                if is_valid_id(entry.name) and entry.name[4:6] == shard.name:
                    yield entry.name

    # -------------------------------------------------------------- retention

    def _created(self, attachment_id: str, fallback: Path) -> datetime:
        """When the attachment was saved: its reference, else the file's modification time."""
        ref = self._read_json(self._ref_path(attachment_id))
        if ref and isinstance(ref.get("created"), str):
            try:
                created = datetime.fromisoformat(ref["created"])
                if created.tzinfo is None:
                    created = created.replace(tzinfo=timezone.utc)
                return created
            except ValueError:
                pass
        return datetime.fromtimestamp(fallback.stat().st_mtime, timezone.utc)

    def purge(self, max_age_days: float, now: Optional[datetime] = None) -> int:
        """Delete attachments (file, reference, analysis) saved more than `max_age_days` ago.

        Returns how many attachments were deleted. Left-over references or analyses without a
        file and abandoned temporary files older than that go too (they are not counted).
        """
        if isinstance(max_age_days, bool) or not isinstance(max_age_days, (int, float)) \
                or max_age_days != max_age_days or max_age_days < 0:
            raise ValueError("max_age_days must be a number >= 0")
        cutoff = (now or _utc_now()) - timedelta(days=max_age_days)
        deleted = 0
        if not self.root.is_dir():
            return 0
        for shard in list(self.root.iterdir()):
            if not (shard.is_dir() and SHARD_PATTERN.fullmatch(shard.name)):
                continue
            for entry in list(shard.iterdir()):
                name = entry.name
                try:
                    if is_valid_id(name):
                        if self._created(name, entry) < cutoff and self._remove(name):
                            deleted += 1
                        continue
                    stem = name[: -len(ANALYSIS_SUFFIX)] if name.endswith(ANALYSIS_SUFFIX) \
                        else name[: -len(REF_SUFFIX)] if name.endswith(REF_SUFFIX) else None
                    orphan = stem is not None and is_valid_id(stem) and not (shard / stem).exists()
                    if orphan or (name.startswith(".") and name.endswith(TMP_SUFFIX)):
                        modified = datetime.fromtimestamp(entry.stat().st_mtime, timezone.utc)
                        if modified < cutoff:
                            entry.unlink()
                except FileNotFoundError:  # deleted meanwhile (another purge, a delete)
                    continue
        if deleted:
            logger.info("attachment store: purged %d attachment(s) older than %s days",
                        deleted, max_age_days)
        return deleted
