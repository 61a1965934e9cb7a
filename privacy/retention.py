"""Retention job for conversations: delete trackers (and their attachments) idle for N days.

    python -m privacy.retention [--days N] [--endpoints endpoints.yml] [--rasa-stopped]

N defaults to TRACKER_RETENTION_DAYS (90). A conversation whose last event is older than N days
loses all its events in the SQL tracker store (TRACKER_URL: SQLite or PostgreSQL, through Rasa's
SQLTrackerStore), and the attachments its user messages name (metadata.attachments[].id) are
deleted from the AttachmentStore (ATTACHMENTS_DIR). Each conversation is deleted while holding
its conversation lock from Rasa's lock store (endpoints.yml), and its age is checked again under
the lock, so a customer who writes at that moment keeps the conversation.

Locks: with `lock_store: type: redis` the job runs next to a running Rasa. The default in_memory
lock store lives inside the Rasa process and cannot be reached from here: the job then refuses to
run unless `--rasa-stopped` says Rasa is stopped (run it from the same cron entry that stops and
restarts Rasa, or switch to the Redis lock store). Prints counts only, never ids or content.
"""
import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import dataclass
from typing import Any, List, Optional, Set

from attachments.store import AttachmentStore, is_valid_id

DEFAULT_RETENTION_DAYS = 90.0


@dataclass
class Purged:
    conversations: int = 0
    events: int = 0
    attachments: int = 0


def retention_days() -> float:
    """TRACKER_RETENTION_DAYS as a number (default 90); ValueError when it is not one >= 0."""
    value = os.environ.get("TRACKER_RETENTION_DAYS", "").strip()
    if not value:
        return DEFAULT_RETENTION_DAYS
    try:
        days = float(value)
    except ValueError:
        raise ValueError(f"TRACKER_RETENTION_DAYS must be a number of days, not {value!r}")
    if days != days or days < 0 or days == float("inf"):
        raise ValueError("TRACKER_RETENTION_DAYS must be >= 0")
    return days


def _attachment_ids(data: Optional[str]) -> Set[str]:
    try:
        event = json.loads(data or "")
    except ValueError:
        return set()
    metadata = event.get("metadata") if isinstance(event, dict) else None
    refs = metadata.get("attachments") if isinstance(metadata, dict) else None
    return {ref["id"] for ref in refs or [] if isinstance(ref, dict) and is_valid_id(ref.get("id"))}


async def purge(tracker_store: Any, lock_store: Any, attachments: AttachmentStore, days: float,
                now: Optional[float] = None) -> Purged:
    """Delete conversations of a SQLTrackerStore whose last event is older than `days`."""
    import sqlalchemy as sa

    if isinstance(days, bool) or not isinstance(days, (int, float)) or days != days or days < 0:
        raise ValueError("days must be a number >= 0")
    event = tracker_store.SQLEvent
    cutoff = (time.time() if now is None else now) - days * 86400
    last = sa.func.max(event.timestamp)
    with tracker_store.session_scope() as session:
        old: List[str] = [row[0] for row in session.query(event.sender_id)
                          .group_by(event.sender_id).having(last < cutoff).all()]
    result = Purged()
    for sender_id in old:
        async with lock_store.lock(sender_id):
            with tracker_store.session_scope() as session:
                newest = session.query(last).filter(event.sender_id == sender_id).scalar()
                if newest is None or newest >= cutoff:  # written to meanwhile: keep it
                    continue
                ids: Set[str] = set()
                for (data,) in session.query(event.data).filter(event.sender_id == sender_id,
                                                                event.type_name == "user"):
                    ids |= _attachment_ids(data)
                result.events += session.query(event).filter(event.sender_id == sender_id) \
                    .delete(synchronize_session=False)
                session.commit()
            result.conversations += 1
            result.attachments += sum(1 for attachment_id in sorted(ids) if attachments.delete(attachment_id))
    return result


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m privacy.retention", description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=None,
                        help="delete conversations idle for this many days (default: TRACKER_RETENTION_DAYS or 90)")
    parser.add_argument("--endpoints", default="endpoints.yml", help="Rasa endpoints file (tracker and lock store)")
    parser.add_argument("--attachments-dir", default=None, help="attachment folder (default: ATTACHMENTS_DIR)")
    parser.add_argument("--rasa-stopped", action="store_true",
                        help="Rasa is stopped (required with the in_memory lock store)")
    args = parser.parse_args(argv)
    try:
        days = retention_days() if args.days is None else args.days
        if days != days or days < 0 or days == float("inf"):
            raise ValueError("--days must be >= 0")
    except ValueError as error:
        parser.error(str(error))
    if not os.path.isfile(args.endpoints):
        parser.error(f"no endpoints file at {args.endpoints}")

    from rasa.core.lock_store import InMemoryLockStore, LockStore
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
    from rasa.core.utils import read_endpoints_from_path

    endpoints = read_endpoints_from_path(args.endpoints)
    lock_store = LockStore.create(endpoints.lock_store)
    if isinstance(lock_store, InMemoryLockStore) and not args.rasa_stopped:
        print("the in_memory lock store lives inside Rasa: stop Rasa and pass --rasa-stopped, "
              "or configure the Redis lock store in endpoints.yml", file=sys.stderr)
        return 2
    tracker_store = TrackerStore.create(endpoints.tracker_store)
    if not isinstance(tracker_store, SQLTrackerStore):
        print("the retention job needs the SQL tracker store (endpoints.yml, TRACKER_URL)", file=sys.stderr)
        return 2
    store = AttachmentStore(args.attachments_dir)
    purged = asyncio.run(purge(tracker_store, lock_store, store, days))
    print(f"deleted {purged.conversations} conversation(s) ({purged.events} events, "
          f"{purged.attachments} attachment(s)) idle for more than {days:g} days")
    return 0


if __name__ == "__main__":
    sys.exit(main())
