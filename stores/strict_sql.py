"""A SQL tracker store that fails loudly, for scale-out on PostgreSQL (endpoints.scaled.yml).

Rasa 3.6 wraps every tracker store in FailSafeTrackerStore (rasa/core/agent.py): when the
database is down, `retrieve` answers None (a fresh tracker: the conversation forks) and `save`
goes to an InMemoryTrackerStore (events lost on restart, invisible to the other instances).
It also replaces a tracker-store `type` it cannot import by an InMemoryTrackerStore with a
warning. The two functions at the end replace both (rasa_extensions installs them before Rasa
starts, whatever the channels): a StrictSQLTrackerStore is used unwrapped, so its errors reach the
channel (StoreUnavailable -> 503 from the multimodal channel), and an unknown type stops start-up.
"""
from __future__ import annotations

import logging
from typing import Any, Callable, Optional, Text

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)


class StoreUnavailable(RuntimeError):
    """The conversation store cannot be read or written: the message is not processed."""


class StrictSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose read and write errors are raised as StoreUnavailable."""

    def __init__(self, domain: Any = None, host: Optional[Text] = None, **kwargs: Any) -> None:
        # `url` in endpoints arrives as `host`: a full URL (sqlite:///..., postgresql://...)
        # or a host name with dialect/port/db/username/password beside it, as SQLTrackerStore.
        super().__init__(domain=domain, host=host, **kwargs)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        try:
            return await super().retrieve(sender_id)
        except Exception as error:
            raise StoreUnavailable(f"tracker store read failed: {type(error).__name__}") from error

    async def retrieve_full_tracker(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        try:
            return await super().retrieve_full_tracker(sender_id)
        except Exception as error:
            raise StoreUnavailable(f"tracker store read failed: {type(error).__name__}") from error

    async def save(self, tracker: DialogueStateTracker) -> None:
        try:
            await super().save(tracker)
        except Exception as error:
            raise StoreUnavailable(f"tracker store write failed: {type(error).__name__}") from error

    def ping(self) -> None:
        """Raises when the database does not answer (the readiness check)."""
        import sqlalchemy as sa

        with self.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))


def create_tracker_store(original: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """A replacement for Agent._create_tracker_store: a StrictSQLTrackerStore is used as it is,
    any other store goes through `original` (Rasa's FailSafeTrackerStore wrapper)."""

    def create(store: Any, domain: Any) -> Any:
        if isinstance(store, StrictSQLTrackerStore):
            store.domain = domain
            return store
        return original(store, domain)

    return create


def load_from_module_name(domain: Any, store: Any, event_broker: Any = None) -> Any:
    """A replacement for rasa.core.tracker_store._load_from_module_name_in_endpoint_config:
    a tracker_store `type` that cannot be imported stops start-up instead of becoming memory."""
    import rasa.shared.utils.common

    try:
        store_class = rasa.shared.utils.common.class_from_module_path(store.type)
    except (AttributeError, ImportError) as error:
        raise SystemExit(f"tracker_store type {store.type!r} not found: "
                         f"use SQL, redis, mongod, dynamo or a module path") from error
    return store_class(host=store.url, domain=domain, event_broker=event_broker, **store.kwargs)
