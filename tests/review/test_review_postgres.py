"""The review inbox on a PostgreSQL tracker store (make run-scaled): a conversation written by
Rasa's own SQL tracker store (stores/strict_sql.py, as endpoints.scaled.yml configures it) into a
database of this test (parley_review_<hex> on the session's `postgres`, dropped at the end) is listed and
shown by the real inbox process (`python -m review`, TRACKER_URL=postgresql://...) after a login.
Also: an empty database (Rasa has stored nothing yet) lists nothing instead of failing, and an
event committed after a higher id was already read still reaches the list (two Rasa instances
commit in their own order)."""
import asyncio
import json
import secrets
import uuid

import pytest
import requests

from review.tracker import TrackerReader
from tests import services

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def database(postgres):
    name = postgres.create_database("parley_review")
    try:
        yield name
    finally:
        postgres.drop_database(name)


@pytest.fixture(scope="module")
def inbox(database, postgres, tmp_path_factory):
    from review.users import UserStore

    folder = tmp_path_factory.mktemp("review-postgres")
    UserStore(folder / "users.json").add("alice", PASSWORD)
    port = services.free_port()
    env = services.base_env(TRACKER_URL=postgres.url(database), REVIEW_PORT=str(port), REVIEW_HOST="127.0.0.1",
                            REVIEW_USERS=str(folder / "users.json"), REVIEW_DB=str(folder / "review.db"),
                            REVIEW_SECRET=secrets.token_hex(16), ATTACHMENTS_DIR=str(folder / "attachments"))
    service = services.Service("review-postgres", [str(services.VENV_DIALOGUE / "bin" / "python"), "-m", "review"],
                               env, f"http://127.0.0.1:{port}/login").start(60)
    yield f"http://127.0.0.1:{port}"
    service.stop()


def logged_in(base: str) -> requests.Session:
    session = requests.Session()
    answer = session.post(f"{base}/login", data={"username": "alice", "password": PASSWORD, "next": "/"},
                          allow_redirects=False, timeout=30)
    assert answer.status_code == 303, answer.text[:300]
    return session


def save_conversation(postgres, database: str, sender: str) -> None:
    """Through Rasa's SQL tracker store, as a Rasa instance of make run-scaled saves it."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from stores.strict_sql import StrictSQLTrackerStore

    domain = Domain.load(str(services.ROOT / "domain.yml"))
    store = StrictSQLTrackerStore(domain=domain, host=postgres.host, dialect="postgresql",
                                  port=postgres.port, db=database, username=postgres.user,
                                  password=postgres.password)
    intent = {"name": "device_problem", "confidence": 0.41}
    tracker = DialogueStateTracker.from_events(sender, [
        ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen"),
        UserUttered("my router has a solid red light", intent=intent,
                    parse_data={"text": "my router has a solid red light", "intent": intent,
                                "intent_ranking": [intent], "entities": []}, input_channel="rest"),
        ActionExecuted("utter_restart_router"), BotUttered("Please restart the modem."),
        ActionExecuted("action_listen")], domain.slots)
    asyncio.run(store.save(tracker))
    store.engine.dispose()


def test_an_empty_database_lists_nothing(inbox):
    session = logged_in(inbox)
    answer = session.get(f"{inbox}/api/conversations", timeout=30)
    assert answer.status_code == 200, answer.text[:300]
    assert answer.json()["total"] == 0


def test_a_conversation_stored_in_postgresql_is_listed_and_shown(inbox, database, postgres):
    assert requests.get(f"{inbox}/api/conversations", timeout=30).status_code == 401  # login first
    sender = f"pg-{uuid.uuid4().hex[:10]}"
    save_conversation(postgres, database, sender)
    session = logged_in(inbox)
    listed = session.get(f"{inbox}/api/conversations", timeout=30).json()
    row = next(c for c in listed["conversations"] if c["sender_id"] == sender)
    assert row["turns"] == 1 and row["lowest_confidence"] == pytest.approx(0.41)
    low = session.get(f"{inbox}/api/conversations", params={"low": "1"}, timeout=30).json()
    assert sender in [c["sender_id"] for c in low["conversations"]]
    shown = session.get(f"{inbox}/api/conversation", params={"id": sender}, timeout=30)
    assert shown.status_code == 200, shown.text[:300]
    text = json.dumps(shown.json())
    assert "my router has a solid red light" in text and "device_problem" in text
    assert "Please restart the modem." in text
    page = session.get(f"{inbox}/conversation", params={"id": sender}, timeout=30)
    assert page.status_code == 200 and "solid red light" in page.text


def test_an_event_committed_after_a_higher_id_was_read_is_not_lost(database, postgres):
    """Two writers: A takes an id, B takes the next one and commits first, the reader polls, then
    A commits. The next poll must still bring A's conversation."""
    save_conversation(postgres, database, "pg-seed")  # the events table exists (Rasa created it)
    reader = TrackerReader(postgres.url(database))
    reader.conversations()

    def event(sender):
        return (sender, "user", 1.0, "greet", None,
                json.dumps({"event": "user", "timestamp": 1.0, "text": "hello",
                            "parse_data": {"intent": {"name": "greet", "confidence": 0.9}}}))

    insert = ("INSERT INTO events (sender_id, type_name, timestamp, intent_name, action_name, data) "
              "VALUES (%s, %s, %s, %s, %s, %s)")
    first, second = postgres.connect(database), postgres.connect(database)
    try:
        first.cursor().execute(insert, event("pg-late"))  # id n, not committed yet
        second.cursor().execute(insert, event("pg-early"))  # id n + 1
        second.commit()
        assert "pg-early" in [c.sender_id for c in reader.conversations()]
        first.commit()
        senders = [c.sender_id for c in reader.conversations()]
        assert "pg-late" in senders and "pg-early" in senders and "pg-seed" in senders
        assert len(senders) == len(set(senders))
        late = next(c for c in reader.conversations() if c.sender_id == "pg-late")
        assert len(late.turns) == 1  # taken once, not again on every poll
    finally:
        first.close()
        second.close()
        if reader._engine is not None:
            reader._engine.dispose()
