"""The record store: orders and customers seeded from the pack, plus what actions create.

One SQLite file (PARLEY_DB, default `<repo>/var/company.db`). Every call opens its own
connection, so the store is safe to share between the threads of the action server.
Nothing here logs customer text or personal data.
"""
from __future__ import annotations

import json
import os
import secrets
import sqlite3
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parents[1]

ORDER_COLUMNS = (
    "order_id", "customer_email", "status", "placed_on", "shipping", "carrier",
    "tracking_number", "estimated_delivery", "delivered_on", "items", "item_names",
    "total_usd", "payment", "shipping_address",
)
CUSTOMER_COLUMNS = (
    "customer_id", "name", "email", "phone", "pay_wallet_balance_usd", "member_since",
)
LIST_COLUMNS = ("items", "item_names")  # ';'-separated in the CSV, JSON lists in SQLite
CLAIM_KINDS = ("missing_parcel", "damaged_item", "warranty")

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_id TEXT PRIMARY KEY,
    customer_email TEXT NOT NULL,
    status TEXT NOT NULL,
    placed_on TEXT, shipping TEXT, carrier TEXT, tracking_number TEXT,
    estimated_delivery TEXT, delivered_on TEXT,
    items TEXT NOT NULL DEFAULT '[]',
    item_names TEXT NOT NULL DEFAULT '[]',
    total_usd REAL, payment TEXT, shipping_address TEXT,
    updated_at TEXT
);
CREATE INDEX IF NOT EXISTS orders_email ON orders (customer_email);
CREATE TABLE IF NOT EXISTS customers (
    customer_id TEXT PRIMARY KEY,
    name TEXT, email TEXT NOT NULL, phone TEXT,
    pay_wallet_balance_usd REAL, member_since TEXT
);
CREATE INDEX IF NOT EXISTS customers_email ON customers (email);
CREATE TABLE IF NOT EXISTS returns (
    return_id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL, skus TEXT NOT NULL, reason TEXT,
    status TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS claims (
    claim_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL, order_id TEXT, details TEXT,
    status TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tickets (
    ticket_id TEXT PRIMARY KEY,
    conversation_id TEXT, summary TEXT, transcript TEXT NOT NULL DEFAULT '[]',
    order_id TEXT, reason TEXT,
    status TEXT NOT NULL, created_at TEXT NOT NULL
);
"""
TABLES = ("orders", "customers", "returns", "claims", "tickets")


class RecordError(ValueError):
    """A change the record store refuses (unknown order, status that does not allow it)."""


def default_db_path() -> Path:
    env = os.environ.get("PARLEY_DB")
    return Path(env).expanduser() if env else REPO_ROOT / "var" / "company.db"


def normalize_email(email: Optional[str]) -> str:
    return (email or "").strip().lower()


def _digits(text: Optional[str]) -> str:
    return "".join(ch for ch in (text or "") if ch.isdigit())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _split_list(value: Optional[str]) -> List[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]


def _float(value: Any) -> Optional[float]:
    if value in (None, ""):
        return None
    return float(value)


class RecordStore:
    def __init__(self, db_path: Optional[os.PathLike] = None) -> None:
        self.db_path = Path(db_path) if db_path is not None else default_db_path()
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            conn.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A fresh connection per call, committed on success and always closed."""
        with closing(sqlite3.connect(self.db_path, timeout=10)) as conn:
            conn.row_factory = sqlite3.Row
            with conn:
                yield conn

    # ------------------------------------------------------------ seeding

    def seed(self, pack: Any, reset: bool = False) -> Dict[str, int]:
        """Load orders and customers from the pack's CSVs; existing rows are kept.

        reset=True drops every table first (returns, claims and tickets included).
        Returns the number of rows per table afterwards.
        """
        orders = pack.read_csv("orders.csv")
        customers = pack.read_csv("customers.csv")
        with self._connect() as conn:
            if reset:
                for table in TABLES:
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
                conn.executescript(SCHEMA)
            conn.executemany(
                f"INSERT OR IGNORE INTO orders ({', '.join(ORDER_COLUMNS)}, updated_at) "
                f"VALUES ({', '.join('?' * (len(ORDER_COLUMNS) + 1))})",
                [self._order_row(row) for row in orders],
            )
            conn.executemany(
                f"INSERT OR IGNORE INTO customers ({', '.join(CUSTOMER_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(CUSTOMER_COLUMNS))})",
                [self._customer_row(row) for row in customers],
            )
        return self.counts()

    @staticmethod
    def _order_row(row: Dict[str, str]) -> tuple:
        values = []
        for column in ORDER_COLUMNS:
            raw = (row.get(column) or "").strip()
            if column in LIST_COLUMNS:
                values.append(json.dumps(_split_list(raw)))
            elif column == "total_usd":
                values.append(_float(raw))
            elif column == "order_id":
                values.append(raw.upper())
            else:
                values.append(raw or None)
        return tuple(values) + (_now(),)

    @staticmethod
    def _customer_row(row: Dict[str, str]) -> tuple:
        values = []
        for column in CUSTOMER_COLUMNS:
            raw = (row.get(column) or "").strip()
            values.append(_float(raw) if column == "pay_wallet_balance_usd" else (raw or None))
        return tuple(values)

    def counts(self) -> Dict[str, int]:
        with self._connect() as conn:
            return {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}

    # ------------------------------------------------------------ reading

    @staticmethod
    def _order_dict(row: Optional[sqlite3.Row]) -> Optional[Dict[str, Any]]:
        if row is None:
            return None
        order = {column: row[column] for column in ORDER_COLUMNS}
        for column in LIST_COLUMNS:
            order[column] = json.loads(order[column] or "[]")
        return order

    def get_order(self, order_id: str) -> Optional[Dict[str, Any]]:
        key = (order_id or "").strip().upper()
        with self._connect() as conn:
            row = conn.execute("SELECT * FROM orders WHERE order_id = ?", (key,)).fetchone()
        return self._order_dict(row)

    def verify_order(self, order_id: str, email: str) -> Optional[Dict[str, Any]]:
        """The order when the e-mail is the one on it; None for unknown id or mismatch alike."""
        order = self.get_order(order_id)
        given = normalize_email(email)
        if order is None or not given or normalize_email(order["customer_email"]) != given:
            return None
        return order

    def orders_for_email(self, email: str) -> List[Dict[str, Any]]:
        given = normalize_email(email)
        if not given:
            return []
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT * FROM orders WHERE lower(trim(customer_email)) = ? "
                "ORDER BY placed_on DESC, order_id", (given,)
            ).fetchall()
        return [self._order_dict(row) for row in rows]

    def get_customer(self, email: str) -> Optional[Dict[str, Any]]:
        given = normalize_email(email)
        if not given:
            return None
        with self._connect() as conn:
            row = conn.execute(
                "SELECT * FROM customers WHERE lower(trim(email)) = ?", (given,)
            ).fetchone()
        return dict(row) if row else None

    def verify_pay_account(self, email: str, phone_last4: str) -> Optional[Dict[str, Any]]:
        """The customer when the e-mail and the last four phone digits both match, else None."""
        customer = self.get_customer(email)
        last4 = _digits(phone_last4)
        if customer is None or len(last4) != 4 or _digits(customer["phone"])[-4:] != last4:
            return None
        return customer

    # ------------------------------------------------------------ order changes

    def _update_order(self, order_id: str, allowed_statuses: Optional[Sequence[str]],
                      **changes: Any) -> Dict[str, Any]:
        key = (order_id or "").strip().upper()
        with self._connect() as conn:
            row = conn.execute("SELECT status FROM orders WHERE order_id = ?", (key,)).fetchone()
            if row is None:
                raise RecordError(f"unknown order {key}")
            if allowed_statuses is not None and row["status"] not in allowed_statuses:
                raise RecordError(f"order {key} is {row['status']}")
            assignments = ", ".join(f"{column} = ?" for column in changes)
            conn.execute(
                f"UPDATE orders SET {assignments}, updated_at = ? WHERE order_id = ?",
                (*changes.values(), _now(), key),
            )
        return self.get_order(key)

    def cancel_order(self, order_id: str,
                     allowed_statuses: Optional[Sequence[str]] = None) -> Dict[str, Any]:
        """Set the status to "cancelled". With allowed_statuses (e.g. the pack's
        orders.cancellable_statuses) an order in another status raises RecordError."""
        return self._update_order(order_id, allowed_statuses, status="cancelled")

    def change_address(self, order_id: str, address: str,
                       allowed_statuses: Optional[Sequence[str]] = None) -> Dict[str, Any]:
        address = " ".join((address or "").split())
        if not address:
            raise RecordError("empty address")
        return self._update_order(order_id, allowed_statuses, shipping_address=address)

    # ------------------------------------------------------------ created records

    def _insert_with_id(self, table: str, id_column: str, prefix: str,
                        values: Dict[str, Any]) -> str:
        """Insert a row under a fresh id such as RMA-3F9A1C (retried on a collision)."""
        columns = [id_column, *values, "created_at"]
        sql = (f"INSERT INTO {table} ({', '.join(columns)}) "
               f"VALUES ({', '.join('?' * len(columns))})")
        for _ in range(20):
            new_id = f"{prefix}-{secrets.token_hex(3).upper()}"
            try:
                with self._connect() as conn:
                    conn.execute(sql, (new_id, *values.values(), _now()))
                return new_id
            except sqlite3.IntegrityError:
                continue
        raise RecordError(f"could not allocate a {prefix} id")

    def create_return(self, order_id: str, skus: Sequence[str],
                      reason: Optional[str] = None) -> str:
        """Record a return (label sent) and mark the order "return_in_progress".

        `skus` must be items of the order; an empty list means the whole order."""
        order = self.get_order(order_id)
        if order is None:
            raise RecordError(f"unknown order {(order_id or '').strip().upper()}")
        skus = [s.strip().upper() for s in skus or [] if s and s.strip()] or list(order["items"])
        unknown = [s for s in skus if s not in order["items"]]
        if unknown:
            raise RecordError(f"items not in order {order['order_id']}: {unknown}")
        return_id = self._insert_with_id("returns", "return_id", "RMA", {
            "order_id": order["order_id"], "skus": json.dumps(skus),
            "reason": reason, "status": "label_sent",
        })
        self._update_order(order["order_id"], None, status="return_in_progress")
        return return_id

    def get_return(self, return_id: str) -> Optional[Dict[str, Any]]:
        record = self._get("returns", "return_id", return_id)
        if record:
            record["skus"] = json.loads(record["skus"])
        return record

    def create_claim(self, kind: str, order_id: Optional[str], details: str) -> str:
        if kind not in CLAIM_KINDS:
            raise RecordError(f"unknown claim kind {kind!r}; expected one of {CLAIM_KINDS}")
        key = (order_id or "").strip().upper() or None
        if key and self.get_order(key) is None:
            raise RecordError(f"unknown order {key}")
        return self._insert_with_id("claims", "claim_id", "CLM", {
            "kind": kind, "order_id": key, "details": details, "status": "open",
        })

    def get_claim(self, claim_id: str) -> Optional[Dict[str, Any]]:
        return self._get("claims", "claim_id", claim_id)

    def create_ticket(self, conversation_id: str, summary: str, transcript: List[Dict[str, Any]],
                      order_id: Optional[str] = None, reason: Optional[str] = None) -> str:
        """A handoff ticket carrying the conversation so far (stored as JSON)."""
        return self._insert_with_id("tickets", "ticket_id", "TCK", {
            "conversation_id": conversation_id, "summary": summary,
            "transcript": json.dumps(list(transcript or []), ensure_ascii=False, default=str),
            "order_id": (order_id or "").strip().upper() or None,
            "reason": reason, "status": "open",
        })

    def get_ticket(self, ticket_id: str) -> Optional[Dict[str, Any]]:
        record = self._get("tickets", "ticket_id", ticket_id)
        if record:
            record["transcript"] = json.loads(record["transcript"])
        return record

    def _get(self, table: str, id_column: str, record_id: str) -> Optional[Dict[str, Any]]:
        key = (record_id or "").strip().upper()
        with self._connect() as conn:
            row = conn.execute(f"SELECT * FROM {table} WHERE {id_column} = ?", (key,)).fetchone()
        return dict(row) if row else None
