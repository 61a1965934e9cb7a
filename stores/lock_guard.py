"""Redis lock store failures, made explicit (scale-out: endpoints.scaled.yml, `lock_store: redis`).

Rasa 3.6 processes a message only under its conversation's ticket lock. With Redis down,
`RedisLockStore.issue_ticket` already raises `LockError` before anything is processed, but two
other paths are unclear: a Redis error while waiting for the lock (`_acquire_lock` polls Redis)
escapes as a raw redis ConnectionError, and a Redis error while releasing the lock after the turn
was processed and saved (`cleanup`) makes that processed turn look failed to the client.
`install()` (idempotent; channels/rest.py calls it when Rasa builds its channels) patches
`RedisLockStore` only:

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

from rasa.core.lock_store import LockError

logger = logging.getLogger(__name__)


class LockStoreUnavailable(LockError):
    """The lock store cannot be reached: the message was not processed."""


_installed = False


def install() -> None:
    """Idempotent: see the module docstring."""
    global _installed
    if _installed:
        return
    from rasa.core.lock_store import RedisLockStore

    original_issue = RedisLockStore.issue_ticket
    original_acquire = RedisLockStore._acquire_lock
    original_cleanup = RedisLockStore.cleanup

    def issue_ticket(self, conversation_id, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return original_issue(self, conversation_id, *args, **kwargs)
        except LockStoreUnavailable:
            raise
        except Exception as error:  # Rasa wraps the Redis error in a LockError
            cause = error.__cause__ or error.__context__ or error
            raise LockStoreUnavailable(f"lock store unavailable: {type(cause).__name__}") from error

    async def acquire_lock(self, conversation_id, ticket, wait_time_in_seconds):  # type: ignore[no-untyped-def]
        import redis

        try:
            return await original_acquire(self, conversation_id, ticket, wait_time_in_seconds)
        except redis.exceptions.RedisError as error:
            raise LockStoreUnavailable(f"lock store unavailable: {type(error).__name__}") from error

    def cleanup(self, conversation_id, ticket_number):  # type: ignore[no-untyped-def]
        import redis

        try:
            original_cleanup(self, conversation_id, ticket_number)
        except redis.exceptions.RedisError as error:
            logger.error("lock store: releasing a lock failed (%s); it expires by itself",
                         type(error).__name__)

    RedisLockStore.issue_ticket = issue_ticket
    RedisLockStore._acquire_lock = acquire_lock
    RedisLockStore.cleanup = cleanup
    _installed = True
