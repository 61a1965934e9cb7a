"""Bounds on what a client sends, shared by every channel: JSON nesting depth, valid Unicode,
client metadata size and the pixels of one message's pictures.

=====================================================  ======  ========================
JSON nested deeper than ``MAX_DEPTH`` (32) levels      400     ``too_deeply_nested``
(a request body, a metadata string, a socket.io
packet, a voice control message)
a lone surrogate (``"\\ud800"``) in any text, sender,  400     ``invalid_text``
metadata key or value
client metadata over ``max_metadata_bytes`` (8 KiB     413     ``metadata_too_large``
as compact UTF-8 JSON)
pictures of one message adding up to more than         413     ``too_many_pixels``
``max_pixels_per_message`` (width x height, 100 M)
=====================================================  ======  ========================

Depth is measured on the raw JSON text *before* it is parsed (`check_depth`, `loads_bounded`):
Python's json module recurses once per level, so a few kilobytes of ``[[[[...`` would otherwise
end in a RecursionError. Values that something else decoded already (python-socketio decodes its
packets itself) are checked by `check_value`, a walk with its own stack that never recurses.

Lone surrogates are refused, not repaired: they only come from a JSON escape such as
``"\\ud800"`` that no keyboard, browser or speech recogniser produces, they cannot be encoded as
UTF-8 (the perception service, the tracker store and the logs would fail on them), and a refusal
tells the client program its mistake instead of storing words the customer never wrote.

The pixel count comes from each picture's header (Pillow reads only the header until asked for
the pixels), so a message of pictures just under the perception service's per-picture cap cannot
make it decode several of them at once.
"""
import io
import json
import re
import warnings
from typing import Any, Iterable, List, Optional, Union

MAX_DEPTH = 32                      # levels of nested objects / arrays in one JSON document
MAX_METADATA_BYTES = 8 * 1024       # client metadata, as compact UTF-8 JSON
MAX_PIXELS_PER_MESSAGE = 100_000_000  # 5 phone photos of 12 MP pass; 5 pictures of 40 MP do not

_PAIRS = bytes.maketrans(b"[{]}", b"(())")       # every opening bracket "(", closing ")"
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SURROGATE = re.compile("[\ud800-\udfff]")
_PIL_FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}


def _refused(status: int, code: str, message: str) -> Exception:
    from channels.multimodal import RequestRefused  # (it imports this module)

    return RequestRefused(status, code, message)


def too_deep(max_depth: int) -> Exception:
    return _refused(400, "too_deeply_nested", f"JSON may be nested at most {max_depth} levels deep")


def check_depth(raw: Union[str, bytes], max_depth: int = MAX_DEPTH) -> None:
    """RequestRefused(400, too_deeply_nested) when the JSON text `raw` nests objects or arrays more
    than `max_depth` levels (brackets inside strings do not count); ValueError when its brackets do
    not balance. Never parses: safe on any input, linear in its length."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else bytes(raw)
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return  # the usual case: too few brackets to nest that deep
    # escapes out first (pairs of backslashes, then escaped quotes): what is left between two
    # quotes is a string's text, whose brackets do not count; then only the brackets are kept
    data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(data.split(b'"')[0::2]).translate(_PAIRS, _NOT_BRACKETS)
    for _ in range(max_depth):  # each pass removes the innermost pairs: one level
        shorter = brackets.replace(b"()", b"")
        if not shorter:
            return
        if len(shorter) == len(brackets):
            break  # no pair left to remove: brackets that do not balance
        brackets = shorter
    if b"()" in brackets or brackets.count(b"(") > max_depth:
        raise too_deep(max_depth)
    raise ValueError("unbalanced brackets")


def loads_bounded(raw: Union[str, bytes], max_depth: int = MAX_DEPTH) -> Any:
    """json.loads after `check_depth`: RequestRefused(400, too_deeply_nested) for deep nesting,
    ValueError (as json.loads) for anything that is not JSON."""
    check_depth(raw, max_depth)
    return json.loads(raw)


def check_text(text: Optional[str]) -> None:
    """RequestRefused(400, invalid_text) for a string holding a lone surrogate."""
    if isinstance(text, str) and _SURROGATE.search(text):
        raise _refused(400, "invalid_text", "the text is not valid Unicode (it holds a lone surrogate "
                                            "such as \\ud800); send UTF-8 text")


def check_value(value: Any, max_depth: int = MAX_DEPTH, max_bytes: Optional[int] = None,
                too_large: str = "metadata_too_large", what: str = "metadata", exact: bool = True) -> None:
    """A decoded JSON value walked without recursion: nested at most `max_depth` levels, every
    string and key valid Unicode (`check_text`), and, with `max_bytes`, at most that many bytes as
    compact UTF-8 JSON (413 `too_large`). The walk stops as soon as a bound is passed, so its cost
    is bounded by `max_bytes` too. `exact=False`: the size is the walk's estimate (characters;
    binary values count one byte), not the serialised JSON's."""
    stack: List[tuple] = [(value, 1)]
    seen = 0  # a lower bound of the compact JSON's size so far, counted before anything is walked

    def count(size: int) -> None:
        nonlocal seen
        seen += size
        if max_bytes is not None and seen > max_bytes:
            raise _refused(413, too_large, f"{what} may hold at most {max_bytes} bytes as JSON")

    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            count(len(item) + 2)
            check_text(item)
        elif isinstance(item, dict):
            if depth > max_depth:
                raise too_deep(max_depth)
            count(1 + 4 * len(item))  # {} and, per key, its quotes, colon and comma
            for key, inner in item.items():
                count(len(str(key)))
                check_text(key)
                stack.append((inner, depth + 1))
        elif isinstance(item, (list, tuple)):
            if depth > max_depth:
                raise too_deep(max_depth)
            count(1 + len(item))  # [] and commas
            stack.extend((inner, depth + 1) for inner in item)
        else:
            count(1)
    if max_bytes is not None and exact:
        size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str).encode("utf-8"))
        if size > max_bytes:
            raise _refused(413, too_large, f"{what} may hold at most {max_bytes} bytes as JSON")


def check_metadata(metadata: Any, max_bytes: int = MAX_METADATA_BYTES, max_depth: int = MAX_DEPTH) -> None:
    """Client metadata: `check_value` with the metadata cap (413 metadata_too_large)."""
    if metadata is not None:
        check_value(metadata, max_depth, max_bytes)


def image_pixels(data: bytes, fmt: Optional[str]) -> Optional[int]:
    """Width x height from a picture's header (PNG, JPEG, WebP), None when it cannot be read (the
    perception service says so later), -1 when Pillow calls it a decompression bomb."""
    from PIL import Image  # Pillow is in Rasa's environment; only the header is read

    formats = [_PIL_FORMATS[fmt]] if fmt in _PIL_FORMATS else list(_PIL_FORMATS.values())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=formats) as image:
                width, height = image.size
        except Image.DecompressionBombError:
            return -1
        except Exception:  # damaged or not a picture at all
            return None
    return max(0, int(width)) * max(0, int(height))


def check_pixels(pictures: Iterable[tuple], max_pixels: int = MAX_PIXELS_PER_MESSAGE) -> int:
    """The pixels of one message's pictures ((bytes, format) pairs) added up from their headers;
    RequestRefused(413, too_many_pixels) over `max_pixels`."""
    total = 0
    for data, fmt in pictures:
        pixels = image_pixels(data, fmt)
        if pixels is not None and (pixels < 0 or total + pixels > max_pixels):
            raise _refused(413, "too_many_pixels", f"the pictures of one message may hold at most "
                                                   f"{max_pixels} pixels (width x height) together")
        total += pixels or 0
    return total
