"""Reads conversations from Rasa's SQL tracker store (table `events`), read-only, with
SQLAlchemy: SQLite (make run) or PostgreSQL (make run-scaled, TRACKER_URL=postgresql://...).
Blocking: call it from a worker thread (asyncio.to_thread).

Several Rasa instances writing to one PostgreSQL database take event ids from one sequence when
they insert, but commit in their own time: a reader can see id 105 before id 103 is committed.
So each poll reads again the last OVERLAP ids before the highest one seen and skips the ids it
already took; one conversation's events are saved one save at a time (the lock store), so they
still arrive in order."""
import json
import logging
import threading
from pathlib import Path
from typing import Dict, List, Optional, Set

import sqlalchemy as sa

from review.conversation import Conversation, build

logger = logging.getLogger(__name__)
KINDS = ("user", "bot", "action", "slot", "active_loop", "session_started")
OVERLAP = 1000  # ids read again on each poll (events committed after a higher id was seen)
UNDEFINED_TABLE = "42P01"  # PostgreSQL's SQLSTATE for a table that does not exist


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
        self._seen: Set[int] = set()  # ids above _last_id - OVERLAP already taken
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
        except (sa.exc.OperationalError, sa.exc.ProgrammingError) as error:
            if _no_events_table(error):  # Rasa has not stored anything yet
                return []
            raise

    def conversations(self) -> List[Conversation]:
        """Every conversation (summary built from all its events)."""
        with self._lock:
            floor = max(0, self._last_id - OVERLAP)
            rows = self._rows("id > :floor", {"floor": floor})
            if self._last_id and (not rows or rows[-1].id < self._last_id):
                # the newest event seen is gone: the table was replaced (or emptied): start over
                self._cache.clear()
                self._seen.clear()
                self._last_id = floor = 0
                rows = self._rows("id > 0", {})
            for row in rows:
                if row.id in self._seen:
                    continue
                self._seen.add(row.id)
                self._last_id = max(self._last_id, row.id)
                event = _load(row.data)
                if event is None:
                    continue
                conversation = self._cache.get(row.sender_id)
                if conversation is None:
                    conversation = self._cache[row.sender_id] = Conversation(row.sender_id)
                conversation.add(event)
            floor = self._last_id - OVERLAP
            self._seen = {number for number in self._seen if number > floor}
            return list(self._cache.values())

    def conversation(self, sender_id: str) -> Optional[Conversation]:
        rows = self._rows("sender_id = :sender", {"sender": sender_id})
        if not rows:
            return None
        return build(sender_id, [e for e in (_load(r.data) for r in rows) if e is not None])


def _no_events_table(error: Exception) -> bool:
    """SQLite: "no such table"; PostgreSQL: SQLSTATE 42P01 (undefined table)."""
    return "no such table" in str(error) or getattr(error.orig, "pgcode", None) == UNDEFINED_TABLE


def _load(data: Optional[str]) -> Optional[dict]:
    try:
        event = json.loads(data or "")
    except ValueError:
        logger.warning("review: an event with unreadable JSON was skipped")
        return None
    return event if isinstance(event, dict) else None
