"""The review queue (SQLite, REVIEW_DB, default var/review.db): scrubbed annotations only.
Blocking: call from a worker thread."""
import json
import sqlite3
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from review import settings

STATUSES = ("pending", "approved", "rejected")
SCHEMA = """
CREATE TABLE IF NOT EXISTS annotations (
  id INTEGER PRIMARY KEY,
  sender_id TEXT NOT NULL,
  turn INTEGER NOT NULL,
  session INTEGER NOT NULL DEFAULT 0,
  event_ts REAL,
  text TEXT NOT NULL,
  entities TEXT NOT NULL,
  intent TEXT NOT NULL,
  predicted_intent TEXT,
  kind TEXT NOT NULL,
  attachment TEXT,
  status TEXT NOT NULL,
  reviewer TEXT NOT NULL,
  approver TEXT,
  created REAL NOT NULL,
  updated REAL NOT NULL,
  UNIQUE (sender_id, turn)
)"""


class ReviewQueue:
    def __init__(self, path: Optional[Path] = None) -> None:
        self.path = Path(path or settings.queue_path())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute(SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        return db

    def save(self, *, sender_id: str, turn: int, session: int, event_ts: Optional[float], text: str,
             entities: List[Dict[str, Any]], intent: str, predicted_intent: Optional[str], kind: str,
             attachment: Optional[Dict[str, Any]], reviewer: str) -> int:
        """Store (or replace) the annotation of one user turn; it waits for approval."""
        now = time.time()
        with self._db() as db:
            db.execute(
                "INSERT INTO annotations (sender_id, turn, session, event_ts, text, entities, intent, "
                "predicted_intent, kind, attachment, status, reviewer, created, updated) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?) "
                "ON CONFLICT (sender_id, turn) DO UPDATE SET session=excluded.session, "
                "event_ts=excluded.event_ts, text=excluded.text, entities=excluded.entities, "
                "intent=excluded.intent, predicted_intent=excluded.predicted_intent, kind=excluded.kind, "
                "attachment=excluded.attachment, status='pending', reviewer=excluded.reviewer, "
                "approver=NULL, updated=excluded.updated",
                (sender_id, turn, session, event_ts, text, json.dumps(entities), intent, predicted_intent,
                 kind, json.dumps(attachment) if attachment else None, reviewer, now, now))
            row = db.execute("SELECT id FROM annotations WHERE sender_id = ? AND turn = ?",
                             (sender_id, turn)).fetchone()
        return int(row["id"])

    def set_status(self, annotation_id: int, status: str, approver: str) -> bool:
        if status not in STATUSES:
            raise ValueError("unknown status")
        with self._db() as db:
            changed = db.execute("UPDATE annotations SET status = ?, approver = ?, updated = ? WHERE id = ?",
                                 (status, approver, time.time(), annotation_id)).rowcount
        return changed == 1

    def approve_pending(self, approver: str) -> int:
        with self._db() as db:
            return db.execute("UPDATE annotations SET status = 'approved', approver = ?, updated = ? "
                              "WHERE status = 'pending'", (approver, time.time())).rowcount

    def delete(self, annotation_id: int) -> bool:
        with self._db() as db:
            return db.execute("DELETE FROM annotations WHERE id = ?", (annotation_id,)).rowcount == 1

    def items(self, status: Optional[str] = None, sender_id: Optional[str] = None) -> List[Dict[str, Any]]:
        query, args = "SELECT * FROM annotations WHERE 1=1", []
        if status:
            query += " AND status = ?"
            args.append(status)
        if sender_id is not None:
            query += " AND sender_id = ?"
            args.append(sender_id)
        with self._db() as db:
            rows = db.execute(query + " ORDER BY sender_id, turn", args).fetchall()
        return [_item(row) for row in rows]

    def reviewed_counts(self) -> Dict[str, int]:
        """How many turns of each conversation have an annotation (for the inbox's order)."""
        with self._db() as db:
            rows = db.execute("SELECT sender_id, COUNT(*) AS n FROM annotations GROUP BY sender_id")
            return {row["sender_id"]: row["n"] for row in rows}


def _item(row: sqlite3.Row) -> Dict[str, Any]:
    item = dict(row)
    item["entities"] = json.loads(item["entities"])
    item["attachment"] = json.loads(item["attachment"]) if item["attachment"] else None
    return item
