"""Readiness check: GET /webhooks/health/ready (credentials.yml: channels.health.HealthInput).

200 {"status": "ready", "tracker_store": "ok", "lock_store": "ok"} when the tracker store's
database and the lock store (Redis in scale-out) answer; 503 {"error": {"code": "not_ready",
"message"}, "tracker_store": ..., "lock_store": ...} otherwise, so a load balancer takes the
instance out. GET /webhooks/health/ is liveness (always 200 while the process serves).
Building the channel checks that Rasa was started with its extensions (rasa_extensions: the
strict tracker store among them) and stops start-up otherwise.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

import rasa_extensions

logger = logging.getLogger(__name__)


def _inner(store: Any) -> Any:
    """The store behind Rasa's wrappers (FailSafeTrackerStore, AwaitableTrackerStore)."""
    for _ in range(3):
        store = getattr(store, "_tracker_store", store)
    return store


def _check_tracker_store(store: Any) -> str:
    store = _inner(store)
    engine = getattr(store, "engine", None)
    if engine is None:
        return "ok"  # in memory: nothing to reach
    import sqlalchemy as sa

    with engine.connect() as connection:
        connection.execute(sa.text("SELECT 1"))
    return "ok"


def _check_lock_store(store: Any) -> str:
    client = getattr(store, "red", None)  # RedisLockStore's client
    if client is not None:
        client.ping()
    return "ok"


class HealthInput(InputChannel):
    @classmethod
    def name(cls) -> Text:
        return "health"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> "HealthInput":
        rasa_extensions.require_installed(cls.name())  # a plain `rasa run`: stops here
        return cls()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("custom_webhook_HealthInput", __name__)

        @hook.route("/", methods=["GET"])
        async def alive(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/ready", methods=["GET"])
        async def ready(request: Request) -> HTTPResponse:
            agent = getattr(request.app.ctx, "agent", None)
            if agent is None or not agent.is_ready():
                return response.json({"error": {"code": "not_ready", "message": "no model loaded"}},
                                     status=503)
            result: Dict[str, str] = {}
            for name, check, store in (("tracker_store", _check_tracker_store, agent.tracker_store),
                                       ("lock_store", _check_lock_store, agent.lock_store)):
                try:
                    result[name] = await asyncio.wait_for(asyncio.to_thread(check, store), 5)
                except Exception as error:  # the error's type only: URLs can hold passwords
                    result[name] = f"unavailable: {type(error).__name__}"
            if all(value == "ok" for value in result.values()):
                return response.json({"status": "ready", **result})
            logger.error("health: not ready %s", result)
            return response.json({"error": {"code": "not_ready",
                                            "message": "a store is unavailable"}, **result},
                                 status=503)

        return hook
