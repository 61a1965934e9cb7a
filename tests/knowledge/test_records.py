"""RecordStore: seeding from the pack's CSVs, identity checks, and the records actions create."""
import re
import sqlite3
import subprocess
import sys
import threading

import pytest

from knowledge.records import RecordError, RecordStore
from tests.knowledge.conftest import ROOT


def first_order(pack, status):
    return next(row for row in pack.read_csv("orders.csv") if row["status"] == status)


# ---------------------------------------------------------------- seeding


def test_seed_counts_match_the_csvs(tmp_path, pack):
    store = RecordStore(tmp_path / "c.db")
    counts = store.seed(pack)
    assert counts["orders"] == len(pack.read_csv("orders.csv")) == 31
    assert counts["customers"] == len(pack.read_csv("customers.csv")) == 14
    assert counts["returns"] == counts["claims"] == counts["tickets"] == 0


def test_seed_is_idempotent_and_keeps_changes(store, pack):
    row = first_order(pack, "processing")
    store.cancel_order(row["order_id"])
    again = store.seed(pack)
    assert again["orders"] == 31
    assert store.get_order(row["order_id"])["status"] == "cancelled"  # not overwritten


def test_seed_reset_reloads(store, pack):
    row = first_order(pack, "processing")
    store.cancel_order(row["order_id"])
    store.create_ticket("conv-1", "summary", [])
    counts = store.seed(pack, reset=True)
    assert counts["tickets"] == 0 and counts["orders"] == 31
    assert store.get_order(row["order_id"])["status"] == "processing"


def test_default_db_path_from_env(tmp_path, monkeypatch):
    target = tmp_path / "deep" / "er" / "company.db"
    monkeypatch.setenv("PARLEY_DB", str(target))
    store = RecordStore()
    assert store.db_path == target and target.is_file()
    with sqlite3.connect(target) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"orders", "customers", "returns", "claims", "tickets"} <= tables


# ---------------------------------------------------------------- reading


def test_get_order_has_csv_columns_and_lists(store, pack):
    row = next(r for r in pack.read_csv("orders.csv") if ";" in r["items"])
    order = store.get_order(row["order_id"].lower())
    assert set(order) == set(row) | {"shipping_address"}
    assert order["items"] == row["items"].split(";")
    assert order["item_names"] == row["item_names"].split(";")
    assert order["total_usd"] == float(row["total_usd"])
    assert store.get_order("BW-000000") is None


def test_verify_order(store, pack):
    row = first_order(pack, "delivered")
    email = row["customer_email"]
    assert store.verify_order(row["order_id"], email)["order_id"] == row["order_id"]
    assert store.verify_order(row["order_id"], f"  {email.upper()} ")["order_id"] == row["order_id"]
    assert store.verify_order(row["order_id"], "someone.else@example.com") is None
    assert store.verify_order(row["order_id"], "") is None
    assert store.verify_order("BW-000000", email) is None
    # an unknown id and a wrong e-mail look exactly the same to the caller
    assert store.verify_order("BW-000000", email) == store.verify_order(row["order_id"], "x@y.z")


def test_orders_for_email(store, pack):
    email = pack.read_csv("orders.csv")[0]["customer_email"]
    expected = {r["order_id"] for r in pack.read_csv("orders.csv") if r["customer_email"] == email}
    orders = store.orders_for_email(email.upper())
    assert {o["order_id"] for o in orders} == expected and len(expected) >= 2
    dates = [o["placed_on"] for o in orders]
    assert dates == sorted(dates, reverse=True)
    assert store.orders_for_email("nobody@example.com") == []


def test_verify_pay_account(store, pack):
    customer = pack.read_csv("customers.csv")[0]
    last4 = re.sub(r"\D", "", customer["phone"])[-4:]
    found = store.verify_pay_account(customer["email"].upper(), last4)
    assert found["customer_id"] == customer["customer_id"]
    assert found["pay_wallet_balance_usd"] == float(customer["pay_wallet_balance_usd"])
    wrong = "0000" if last4 != "0000" else "1111"
    assert store.verify_pay_account(customer["email"], wrong) is None
    assert store.verify_pay_account(customer["email"], last4[1:]) is None
    assert store.verify_pay_account("nobody@example.com", last4) is None


# ---------------------------------------------------------------- changes


def test_cancel_order(store, pack):
    processing = first_order(pack, "processing")["order_id"]
    shipped = first_order(pack, "shipped")["order_id"]
    allowed = pack.settings["orders"]["cancellable_statuses"]
    assert store.cancel_order(processing, allowed_statuses=allowed)["status"] == "cancelled"
    with pytest.raises(RecordError):
        store.cancel_order(shipped, allowed_statuses=allowed)
    assert store.get_order(shipped)["status"] == "shipped"
    with pytest.raises(RecordError):
        store.cancel_order("BW-000000")


def test_change_address(store, pack):
    processing = first_order(pack, "processing")["order_id"]
    shipped = first_order(pack, "shipped")["order_id"]
    allowed = pack.settings["orders"]["address_changeable_statuses"]
    order = store.change_address(processing, " 12 Elm St,\n Springfield, IL 62701 ", allowed)
    assert order["shipping_address"] == "12 Elm St, Springfield, IL 62701"
    assert store.get_order(processing)["shipping_address"] == "12 Elm St, Springfield, IL 62701"
    with pytest.raises(RecordError):
        store.change_address(shipped, "1 Main St", allowed)
    with pytest.raises(RecordError):
        store.change_address(processing, "   ")


def test_create_return(store, pack):
    row = first_order(pack, "delivered")
    sku = row["items"].split(";")[0]
    return_id = store.create_return(row["order_id"], [sku.lower()], reason="too small")
    assert re.fullmatch(r"RMA-[0-9A-F]{6}", return_id)
    record = store.get_return(return_id)
    assert record["skus"] == [sku] and record["reason"] == "too small"
    assert record["order_id"] == row["order_id"] and record["created_at"]
    assert store.get_order(row["order_id"])["status"] == "return_in_progress"
    with pytest.raises(RecordError):
        store.create_return(row["order_id"], ["NOT-IN-ORDER"])
    with pytest.raises(RecordError):
        store.create_return("BW-000000", [sku])


def test_create_claim(store, pack):
    order_id = first_order(pack, "delivered")["order_id"]
    ids = {store.create_claim(kind, order_id, "details") for kind in
           ("missing_parcel", "damaged_item", "warranty")}
    assert len(ids) == 3 and all(re.fullmatch(r"CLM-[0-9A-F]{6}", i) for i in ids)
    claim = store.get_claim(sorted(ids)[0])
    assert claim["order_id"] == order_id and claim["status"] == "open" and claim["created_at"]
    with pytest.raises(RecordError):
        store.create_claim("lost_in_space", order_id, "x")
    with pytest.raises(RecordError):
        store.create_claim("warranty", "BW-000000", "x")
    assert store.counts()["claims"] == 3


def test_create_ticket_keeps_the_transcript(store):
    transcript = [
        {"sender": "user", "text": "my router is blinking red", "attachments": ["photo.jpg"]},
        {"sender": "bot", "text": "I can see error BW-R02."},
    ]
    ticket_id = store.create_ticket("conv-42", "Router firmware failed", transcript,
                                    order_id="bw-723241", reason="customer_asked")
    assert re.fullmatch(r"TCK-[0-9A-F]{6}", ticket_id)
    ticket = store.get_ticket(ticket_id.lower())
    assert ticket["transcript"] == transcript
    assert ticket["order_id"] == "BW-723241" and ticket["reason"] == "customer_asked"
    assert ticket["conversation_id"] == "conv-42" and ticket["created_at"]
    assert store.get_ticket("TCK-000000") is None


def test_concurrent_writes_from_threads(store):
    ids, errors = [], []

    def work(n):
        try:
            ids.append(store.create_ticket(f"conv-{n}", "s", [{"n": n}]))
        except Exception as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(ids)) == 16
    assert store.counts()["tickets"] == 16


# ---------------------------------------------------------------- command line


def test_seed_command(tmp_path, pack_dir):
    db = tmp_path / "cli" / "company.db"
    args = [sys.executable, "-m", "knowledge.seed", "--db", str(db), "--pack", str(pack_dir)]
    first = subprocess.run(args + ["--reset"], capture_output=True, text=True, cwd=ROOT)
    assert first.returncode == 0, first.stderr
    assert "31 orders" in first.stdout and "14 customers" in first.stdout
    assert len(first.stdout.strip().splitlines()) == 1
    again = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 0 and "31 orders" in again.stdout
    bad = subprocess.run(args[:-1] + [str(tmp_path / "missing")], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 1 and "not found" in bad.stderr
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 31
