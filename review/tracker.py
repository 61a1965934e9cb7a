"""Reads conversations from Rasa's SQL tracker store (table `events`), read-only, with
SQLAlchemy. Blocking: call it from a worker thread (asyncio.to_thread)."""
import json
import logging
import threading
from pathlib import Path
from typing import Dict, List, Optional

import sqlalchemy as sa

from review.conversation import Conversation, build

logger = logging.getLogger(__name__)
KINDS = ("user", "bot", "action", "slot", "active_loop", "session_started")


def read_only_url(url: str) -> str:
    """SQLite files are opened read-only (the reviewer never writes to the tracker)."""
    if url.startswith("sqlite:///") and "?" not in url and url != "sqlite:///":
        path = Path(url[len("sqlite:///"):]).resolve()
        return f"sqlite:///file:{path}?mode=ro&uri=true"
    return url


class TrackerReader:
    """Conversations from the `events` table; summaries are kept in memory and only the events
    stored since the last call are read."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Optional[sa.engine.Engine] = None
        self._lock = threading.Lock()
        self._last_id = 0
        self._cache: Dict[str, Conversation] = {}

    def _connect(self) -> Optional[sa.engine.Engine]:
        if self.url.startswith("sqlite:///"):
            if not Path(self.url[len("sqlite:///"):]).exists():
                return None
        if self._engine is None:
            self._engine = sa.create_engine(read_only_url(self.url), future=True)
        return self._engine

    def _rows(self, where: str, params: dict) -> List[sa.engine.Row]:
        engine = self._connect()
        if engine is None:
            return []
        kinds = ", ".join(f"'{k}'" for k in KINDS)
        query = sa.text(f"SELECT id, sender_id, data FROM events WHERE type_name IN ({kinds}) "
                        f"AND {where} ORDER BY id")
        try:
            with engine.connect() as connection:
                return list(connection.execute(query, params))
        except sa.exc.OperationalError as error:
            if "no such table" in str(error):  # Rasa has not stored anything yet
                return []
            raise

    def conversations(self) -> List[Conversation]:
        """Every conversation (summary built from all its events)."""
        with self._lock:
            rows = self._rows("id > :last", {"last": self._last_id})
            if rows and rows[0].id <= self._last_id:  # the table was replaced
                self._cache.clear()
            for row in rows:
                event = _load(row.data)
                if event is None:
                    continue
                conversation = self._cache.get(row.sender_id)
                if conversation is None:
                    conversation = self._cache[row.sender_id] = Conversation(row.sender_id)
                conversation.add(event)
                self._last_id = max(self._last_id, row.id)
            return list(self._cache.values())

    def conversation(self, sender_id: str) -> Optional[Conversation]:
        rows = self._rows("sender_id = :sender", {"sender": sender_id})
        if not rows:
            return None
        return build(sender_id, [e for e in (_load(r.data) for r in rows) if e is not None])


def _load(data: Optional[str]) -> Optional[dict]:
    try:
        event = json.loads(data or "")
    except ValueError:
        logger.warning("review: an event with unreadable JSON was skipped")
        return None
    return event if isinstance(event, dict) else None
