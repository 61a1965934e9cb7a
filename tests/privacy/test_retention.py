"""The tracker retention job (privacy/retention.py) on a real SQLite tracker store with old and new
conversations, their attachments, Rasa's lock store, and the CLI's refusals."""
import asyncio
import subprocess
import time

import pytest
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from attachments.store import AttachmentStore
from privacy.retention import purge
from tests import services

DAY = 86400.0
NOW = 1_800_000_000.0
PNG = (b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
       b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


def conversation(store: SQLTrackerStore, sender: str, last: float, attachment_ids=()) -> None:
    refs = [{"id": attachment_id, "kind": "image"} for attachment_id in attachment_ids]
    events = [UserUttered("hello, my email is ana.lopez@example.com", timestamp=last - 60,
                          metadata={"attachments": refs} if refs else {}),
              ActionExecuted("utter_greet", timestamp=last - 59),
              BotUttered("hi", timestamp=last)]
    tracker = DialogueStateTracker.from_events(sender, events)
    asyncio.run(store.save(tracker))


async def append(store: SQLTrackerStore, sender: str, text: str, timestamp: float) -> None:
    tracker = await store.retrieve(sender)
    tracker.update(UserUttered(text, timestamp=timestamp))
    await store.save(tracker)


def count(store: SQLTrackerStore, sender: str) -> int:
    with store.session_scope() as session:
        return session.query(store.SQLEvent).filter(store.SQLEvent.sender_id == sender).count()


@pytest.fixture
def stores(tmp_path):
    tracker_store = SQLTrackerStore(dialect="sqlite", db=str(tmp_path / "tracker.db"))
    return tracker_store, AttachmentStore(tmp_path / "attachments")


def test_old_conversations_and_their_attachments_go_new_ones_stay(stores):
    tracker_store, attachments = stores
    old_ref, new_ref = attachments.save(PNG), attachments.save(PNG)
    conversation(tracker_store, "old", NOW - 100 * DAY, [old_ref["id"]])
    conversation(tracker_store, "old-no-files", NOW - 91 * DAY)
    conversation(tracker_store, "new", NOW - 89 * DAY, [new_ref["id"]])
    result = asyncio.run(purge(tracker_store, InMemoryLockStore(), attachments, 90, now=NOW))
    assert (result.conversations, result.events, result.attachments) == (2, 6, 1)
    assert count(tracker_store, "old") == 0 and count(tracker_store, "old-no-files") == 0
    assert count(tracker_store, "new") == 3
    assert not attachments.exists(old_ref["id"]) and attachments.exists(new_ref["id"])
    assert asyncio.run(purge(tracker_store, InMemoryLockStore(), attachments, 90, now=NOW)).conversations == 0


def test_a_conversation_with_one_recent_event_is_kept(stores):
    tracker_store, attachments = stores
    conversation(tracker_store, "revived", NOW - 200 * DAY)
    asyncio.run(append(tracker_store, "revived", "still there?", NOW - DAY))
    assert asyncio.run(purge(tracker_store, InMemoryLockStore(), attachments, 90, now=NOW)).conversations == 0
    assert count(tracker_store, "revived") == 4


def test_the_job_waits_for_the_conversation_lock(stores):
    tracker_store, attachments = stores
    conversation(tracker_store, "busy", NOW - 100 * DAY)
    locks = InMemoryLockStore()

    async def scenario():
        order = []

        async def turn():  # Rasa handling a message: holds the lock, the customer writes
            async with locks.lock("busy"):
                order.append("turn")
                await asyncio.sleep(0.3)
                await append(tracker_store, "busy", "back again", NOW)
        task = asyncio.create_task(turn())
        await asyncio.sleep(0.05)
        result = await purge(tracker_store, locks, attachments, 90, now=NOW)
        await task
        return order, result

    order, result = asyncio.run(scenario())
    assert order == ["turn"] and result.conversations == 0  # re-checked under the lock: kept
    assert count(tracker_store, "busy") == 4


def test_bad_days_are_refused(stores):
    tracker_store, attachments = stores
    for days in (-1, float("nan"), "90", True):
        with pytest.raises(ValueError):
            asyncio.run(purge(tracker_store, InMemoryLockStore(), attachments, days, now=NOW))


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(services.VENV_DIALOGUE / "bin" / "python"), "-m", "privacy.retention", *args],
                          cwd=services.ROOT, env=services.base_env(**env), capture_output=True, text=True,
                          timeout=300)


def test_cli_deletes_with_endpoints_yml_when_rasa_is_stopped(tmp_path):
    db = tmp_path / "tracker.db"
    store = SQLTrackerStore(dialect="sqlite", db=str(db))
    conversation(store, "old", time.time() - 100 * DAY)
    conversation(store, "new", time.time() - DAY)
    env = dict(TRACKER_URL=f"sqlite:///{db}", ATTACHMENTS_DIR=str(tmp_path / "attachments"),
               ACTION_ENDPOINT_URL="http://127.0.0.1:1/webhook")
    refused = cli(**env)  # endpoints.yml has the in_memory lock store: Rasa must be stopped
    assert refused.returncode == 2 and "--rasa-stopped" in refused.stderr
    assert count(store, "old") == 3
    done = cli("--rasa-stopped", **env, TRACKER_RETENTION_DAYS="30")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "deleted 1 conversation(s) (3 events, 0 attachment(s))" in done.stdout
    assert count(store, "old") == 0 and count(store, "new") == 3


@pytest.mark.parametrize("value", ["soon", "-3", "nan"])
def test_cli_refuses_a_bad_retention_setting(tmp_path, value):
    result = cli("--rasa-stopped", TRACKER_URL=f"sqlite:///{tmp_path / 't.db'}", TRACKER_RETENTION_DAYS=value)
    assert result.returncode == 2 and "TRACKER_RETENTION_DAYS" in result.stderr
