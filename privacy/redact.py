"""Personal data out of every log line: e-mails, phone numbers, card numbers and customer names.

Detection is privacy/pii.py's (`Scrubber.find`); each value becomes a tag such as ``[email]``.
`install()` wraps the process's LogRecord factory, so every record of every logger (Rasa's,
Sanic's, uvicorn's, ours), at every level, is redacted when it is made: the formatted message
(arguments included), the exception text and the stack text. Handlers added later (coloredlogs,
uvicorn's dictConfig) therefore need nothing. Customer names come from the company records
(privacy.pii.customer_names), read on the first log record, never at import.

Numbers the code logs as arguments (``logger.info("%s %s %d %d", method, path, status, size)``)
are not personal data: int and float arguments are left as they are, so access lines keep their
status, size and duration (``200 1234`` looked like a phone number). Customer text arrives as
strings: the message itself, string arguments, exceptions and stacks are redacted as before.

Hooks: Rasa and the action server take ``--logging-config-file privacy/logging.yml`` (its filter
factory calls `install()`); our own services call `install()` after configuring logging.
"""
import logging
import re
import threading
import traceback
from typing import Any, Callable, List, Optional, Sequence, Tuple

from privacy.pii import Scrubber, customer_names

KINDS = {"email", "card", "phone", "name", "secret"}
_KEY = b"parley-log-redaction"  # only tags are written, so the fakes' key does not matter


class Redactor:
    """`redact(text)`: the text with personal data replaced by ``[kind]`` tags."""

    def __init__(self, names: Optional[Callable[[], List[str]]] = None) -> None:
        self._names = names or customer_names
        self._scrubber: Optional[Scrubber] = None
        self._lock = threading.Lock()

    def scrubber(self) -> Scrubber:
        if self._scrubber is None:
            with self._lock:
                if self._scrubber is None:
                    try:
                        names = self._names()
                    except Exception:  # records unreadable: still redact the patterns
                        names = []
                    self._scrubber = Scrubber(_KEY, names)
        return self._scrubber

    def redact(self, text: str, numbers: Sequence[Tuple[int, int]] = ()) -> str:
        """`numbers`: (start, end) of the parts of `text` that the code formatted from int or float
        arguments: they are masked while looking for personal data (a status and a size side by
        side are no phone number, and a number next to a customer's digits no longer hides them)."""
        if not text:
            return text
        masked = text
        for start, end in numbers:
            masked = masked[:start] + "#" * (end - start) + masked[end:]
        spans = [s for s in self.scrubber().find(masked) if s.kind in KINDS
                 and not (s.kind == "phone" and _decimals(masked, s.start))]
        for span in reversed(spans):
            text = f"{text[:span.start]}[{span.kind}]{text[span.end:]}"
        return text


def _decimals(text: str, start: int) -> bool:
    """The digits after a decimal point (a confidence such as 0.9685534834): not a phone number."""
    return start >= 2 and text[start - 1] == "." and text[start - 2].isdigit()


# one %-conversion of a log message (logging formats `msg % args`)
_CONVERSION = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])")


def message_and_numbers(record: logging.LogRecord) -> Tuple[str, List[Tuple[int, int]]]:
    """The record's message and where in it the int and float arguments were formatted; those
    places are found only for plain %-formats with a tuple of arguments (else none: all of it is
    redacted as text). Raises what getMessage raises for bad arguments."""
    args = record.args
    if not isinstance(args, tuple) or not isinstance(record.msg, str) or \
            not any(isinstance(arg, (int, float)) for arg in args):
        return record.getMessage(), []
    parts: List[str] = []
    numbers: List[Tuple[int, int]] = []
    length, position, index = 0, 0, 0
    for match in _CONVERSION.finditer(record.msg):
        literal = record.msg[position:match.start()]
        position = match.end()
        if match.group(1) == "%":
            piece = literal + "%"
        elif "*" in match.group(0) or "(" in match.group(0) or index >= len(args):
            return record.getMessage(), []
        else:
            value = match.group(0) % (args[index],)
            piece = literal + value
            if isinstance(args[index], (int, float)):
                numbers.append((length + len(literal), length + len(piece)))
            index += 1
        parts.append(piece)
        length += len(piece)
    if index != len(args):
        return record.getMessage(), []
    parts.append(record.msg[position:])
    return "".join(parts), numbers


REDACTOR = Redactor()
_busy = threading.local()


def redact_record(record: logging.LogRecord, redactor: Redactor = REDACTOR) -> logging.LogRecord:
    """Redact a record in place (idempotent): message with its arguments, exception, stack."""
    if getattr(record, "_parley_redacted", False) or getattr(_busy, "on", False):
        return record
    _busy.on = True  # reading the records may log: those lines are not redacted again
    try:
        try:
            message, numbers = message_and_numbers(record)
        except Exception:  # a bad format string: keep only what is safe
            message, numbers = f"{record.msg!s} (unformattable arguments)", []
        record.msg, record.args = redactor.redact(message, numbers), ()
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_info = None  # nobody may render the raw exception again
        if record.exc_text:
            record.exc_text = redactor.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redactor.redact(record.stack_info)
        record._parley_redacted = True
    finally:
        _busy.on = False
    return record


class RedactingFilter(logging.Filter):
    """A handler filter doing the same, for handlers a logging config names explicitly."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_installed = False
_install_lock = threading.Lock()


def install() -> None:
    """Redact every log record this process makes from now on (idempotent)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            return redact_record(previous(*args, **kwargs))

        logging.setLogRecordFactory(factory)
        _installed = True


def filter_factory() -> RedactingFilter:
    """For logging dictConfig (``()``): installs the record factory and returns the filter."""
    install()
    return RedactingFilter()
