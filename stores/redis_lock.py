"""The Redis lock store with explicit failures (scale-out: endpoints.scaled.yml,
`lock_store: type: stores.redis_lock.GuardedRedisLockStore`).

Rasa 3.6 processes a message only under its conversation's ticket lock. With Redis down,
`RedisLockStore.issue_ticket` already raises `LockError` before anything is processed, but two
other paths are unclear: a Redis error while waiting for the lock (`_acquire_lock` polls Redis)
escapes as a raw redis ConnectionError, and a Redis error while releasing the lock after the turn
was processed and saved (`cleanup`) makes that processed turn look failed to the client. This
subclass changes those three methods:

- `issue_ticket` and `_acquire_lock`: any Redis error becomes `LockStoreUnavailable` (a
  `LockError`): the message was NOT processed; the REST and multimodal channels answer
  503 {"error": {"code": "lock_store_unavailable"}} and the client may resend it;
- `cleanup`: a Redis error is logged, not raised (the turn was processed; its ticket expires after
  the lock lifetime, TICKET_LOCK_LIFETIME, 60 s by default, as a crashed instance's would).

So a lock-store error that reaches a channel always means "not processed", and no message is
ever processed without its lock. redis-py reconnects by itself: once Redis answers again, the
next message is handled without restarting Rasa. Logs carry error types, never sender ids.
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Text

from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore, TicketLock
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)


class LockStoreUnavailable(LockError):
    """The lock store cannot be reached: the message was not processed."""


class GuardedRedisLockStore(RedisLockStore):
    """RedisLockStore whose Redis errors mean "not processed" (see the module docstring)."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        # Rasa builds a lock store named by module path as cls(endpoint_config=...): its `url`
        # is Redis's host, the other keys (port, db, password, key_prefix, ...) are
        # RedisLockStore's own arguments, as for `type: redis`.
        if endpoint_config is not None:
            if endpoint_config.url:
                kwargs.setdefault("host", endpoint_config.url)
            kwargs = {**endpoint_config.kwargs, **kwargs}
        super().__init__(**kwargs)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        try:
            return super().issue_ticket(conversation_id, lock_lifetime)
        except Exception as error:  # Rasa wraps the Redis error in a LockError
            cause = error.__cause__ or error.__context__ or error
            raise LockStoreUnavailable(f"lock store unavailable: {type(cause).__name__}") from error

    async def _acquire_lock(self, conversation_id: Text, ticket: int,
                            wait_time_in_seconds: float) -> TicketLock:
        import redis

        try:
            return await super()._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        except redis.exceptions.RedisError as error:
            raise LockStoreUnavailable(f"lock store unavailable: {type(error).__name__}") from error

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        import redis

        try:
            super().cleanup(conversation_id, ticket_number)
        except redis.exceptions.RedisError as error:
            logger.error("lock store: releasing a lock failed (%s); it expires by itself",
                         type(error).__name__)
