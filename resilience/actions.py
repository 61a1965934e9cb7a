"""Custom actions that fail or are slow: an apology within a bounded time, never silence.

Rasa 3.6's RemoteAction posts to the action server with a fixed 5-minute timeout
(rasa.core.constants.DEFAULT_REQUEST_TIMEOUT) that endpoints.yml cannot change; when the call
fails, the processor logs the traceback, drops the action's events and goes on, so the customer
gets nothing (or waits minutes) and may get further actions predicted without the missing slots.

`bounded()` makes the replacement for `RemoteAction.run` (rasa_extensions installs it before Rasa
starts, so every channel and the HTTP API get it):

- every call to the action server, form validation actions (`validate_<form>`) included, is
  bounded by the action timeout: `timeout` (seconds) under `action_endpoint:` in endpoints.yml,
  else the environment variable `PARLEY_ACTION_TIMEOUT`, else 10 s (a value that is not a
  positive number: PARLEY_ACTION_TIMEOUT stops start-up, an endpoints.yml one is logged as a
  ValueError at each action, which then apologises);
- when the server is down, answers a 4xx/5xx other than Rasa's 400 rejection, sends an invalid
  answer, or does not answer in time, the action returns instead: the response
  `utter_technical_problem` from the domain (a fixed text when the domain has none),
  `ActiveLoop(None)` when it was a form's validation action (the form stops rather than asking
  for the next slot with values nobody checked), and `FollowupAction("action_listen")`, so no
  other action runs in that turn (one apology per turn, one timeout at most per turn);
- two callers get no apology: `action_session_start` falls back to Rasa's own session start
  (the session still starts), and the actions `action_extract_slots` runs (custom slot mappings
  such as action_read_attachments, action_validate_slot_mappings) raise a RasaException, which
  Rasa already handles by filling no slot from them;
- once a call failed in a turn (same conversation, same latest user message), the later calls
  of that turn fail at once instead of waiting again: a turn costs at most one timeout (two
  when it also starts a new session);
- `ActionExecutionRejection` (the action server's 400: "predict something else") and
  cancellation pass through unchanged.

The conversation stays consistent: the failed action is recorded as executed with no events of
its own, nothing the server may have answered late is applied, and the next message is handled
normally (each call tries the server again: no circuit breaker, so a server that is back is
used at once). A caveat: an action that writes (a cancellation, a return) and is only slow may
still finish on the action server after the customer was told it could not be done.
Logs carry the action name and the error type only.
"""
from __future__ import annotations

import asyncio
import logging
import os
from collections import OrderedDict
from typing import Any, Awaitable, Callable, List, Optional, Set, Tuple

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 10.0
TIMEOUT_ENV = "PARLEY_ACTION_TIMEOUT"
APOLOGY_RESPONSE = "utter_technical_problem"
APOLOGY_TEXT = ("Sorry, something went wrong on my side and I can't look that up right now. "
                "Please try again in a few minutes, or ask for an agent.")


def action_timeout(endpoint: Any) -> float:
    """Seconds for one action call: endpoints.yml `timeout`, else PARLEY_ACTION_TIMEOUT, else 10."""
    value: Optional[Any] = None
    kwargs = getattr(endpoint, "kwargs", None) or {}
    if kwargs.get("timeout") not in (None, ""):
        value = kwargs["timeout"]
    elif os.environ.get(TIMEOUT_ENV, "").strip():
        value = os.environ[TIMEOUT_ENV]
    if value is None:
        return DEFAULT_TIMEOUT_S
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"action timeout must be a number of seconds, not {value!r}") from None
    if not seconds > 0:
        raise ValueError(f"action timeout must be positive, not {value!r}")
    return seconds


async def apology(action_name: str, output_channel: Any, nlg: Any, tracker: Any, domain: Any
                  ) -> List[Any]:
    """The events a failed action returns instead of its own."""
    from rasa.shared.core.events import ActiveLoop, BotUttered, FollowupAction
    from rasa.core.actions.action import create_bot_utterance

    message = None
    if APOLOGY_RESPONSE in getattr(domain, "responses", {}):
        try:
            message = await nlg.generate(APOLOGY_RESPONSE, tracker, output_channel.name())
        except Exception:  # the apology must not fail in its turn
            logger.exception("action fallback: %s could not be generated", APOLOGY_RESPONSE)
    if message:
        message["utter_action"] = APOLOGY_RESPONSE
        uttered = create_bot_utterance(message)
    else:
        uttered = BotUttered(APOLOGY_TEXT)
    events: List[Any] = [uttered]
    if action_name.startswith("validate_"):  # a form's validation: stop the form
        events.append(ActiveLoop(None))
    events.append(FollowupAction("action_listen"))
    return events


def _reason(error: BaseException) -> str:
    if isinstance(error, asyncio.TimeoutError):
        return "timeout"
    cause = error.__cause__ or error.__context__
    return type(error).__name__ + (f" <- {type(cause).__name__}" if cause is not None else "")


def _mapping_actions(domain: Any) -> Set[str]:
    """Custom actions that action_extract_slots runs (custom slot mappings, slot validation)."""
    names = {"action_validate_slot_mappings"}
    for slot in getattr(domain, "slots", []) or []:
        for mapping in getattr(slot, "mappings", []) or []:
            if isinstance(mapping, dict) and mapping.get("action"):
                names.add(str(mapping["action"]))
    return names


def _turn(tracker: Any) -> Tuple[str, Optional[float]]:
    """The conversation and its latest message: the same in every call of one turn."""
    from rasa.shared.core.events import UserUttered

    latest = tracker.get_last_event_for(UserUttered) if tracker is not None else None
    return (getattr(tracker, "sender_id", ""), getattr(latest, "timestamp", None))


class _FailedTurns:
    """Turns in which the action server already failed: later calls fail at once (bounded)."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._turns: "OrderedDict[Tuple[str, Optional[float]], None]" = OrderedDict()

    def add(self, turn: Tuple[str, Optional[float]]) -> None:
        self._turns[turn] = None
        while len(self._turns) > self.size:
            self._turns.popitem(last=False)

    def __contains__(self, turn: object) -> bool:
        return turn in self._turns


_failed = _FailedTurns()


def bounded(original_run: Callable[..., Awaitable[List[Any]]]) -> Callable[..., Awaitable[List[Any]]]:
    """A replacement for RemoteAction.run that calls `original_run` within the action timeout and
    turns its failures into an apology (see the module docstring). rasa_extensions installs it."""
    from rasa.core.actions.action import ActionExecutionRejection, ActionSessionStart
    from rasa.shared.exceptions import RasaException

    action_timeout(None)  # a bad PARLEY_ACTION_TIMEOUT stops start-up

    async def run(self, output_channel, nlg, tracker, domain):  # type: ignore[no-untyped-def]
        if not self.action_endpoint:  # a configuration error: Rasa's own message
            return await original_run(self, output_channel, nlg, tracker, domain)
        name = self.name()
        turn = _turn(tracker)
        timeout = 0.0
        try:
            if turn in _failed:
                raise RasaException("the action server already failed in this turn")
            timeout = action_timeout(self.action_endpoint)  # a bad value: logged, an apology
            return await asyncio.wait_for(original_run(self, output_channel, nlg, tracker, domain),
                                          timeout=timeout)
        except ActionExecutionRejection:
            raise
        except Exception as error:  # asyncio.CancelledError is a BaseException: not caught
            _failed.add(turn)
            logger.error("action %s failed (%s, timeout %g s)", name, _reason(error), timeout)
        if name == "action_session_start":  # Rasa's own session start instead
            return await ActionSessionStart().run(output_channel, nlg, tracker, domain)
        if name in _mapping_actions(domain):  # Rasa fills no slot from it and goes on
            raise RasaException(f"custom action {name} unavailable")
        logger.error("action %s: the customer gets an apology", name)
        return await apology(name, output_channel, nlg, tracker, domain)

    return run
