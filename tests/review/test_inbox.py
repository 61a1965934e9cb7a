"""Conversations from a tracker store built from events: filters and order."""
from review.conversation import Filters, select
from review.tracker import TrackerReader
from tests.review import events as ev


def reader(tmp_path, conversations=None):
    db = ev.write(tmp_path / "tracker.db", conversations or ev.sample())
    return TrackerReader(f"sqlite:///{db}")


def names(rows):
    return [c.sender_id for c in rows]


def test_signals_are_read_from_the_events(tmp_path):
    found = {c.sender_id: c for c in reader(tmp_path).conversations()}
    assert found["fallback"].fallback and not found["calm"].fallback
    assert found["handoff"].handoff and not found["unsure"].handoff
    assert found["angry"].thumbs_down and found["angry"].turns[0].replies[0].rating == "down"
    assert found["picture"].has_attachments and not found["calm"].has_attachments
    assert found["unsure"].lowest_confidence == 0.31
    assert found["angry"].turns[0].entities[0]["entity"] == "order_id"


def test_each_filter(tmp_path):
    everything = reader(tmp_path).conversations()

    def pick(**kw):
        return sorted(names(select(everything, Filters(**kw), 0.6)))

    assert pick(confidence_below=0.6) == ["fallback", "unsure"]
    assert pick(fallback=True) == ["fallback"]
    assert pick(handoff=True) == ["handoff"]
    assert pick(thumbs_down=True) == ["angry"]
    assert pick(attachments=True) == ["picture"]
    assert pick(channel="webchat") == ["angry", "unsure"]
    assert pick(since=ev.T0 + 3 * 86400, until=ev.T0 + 5 * 86400) == ["angry", "handoff"]
    assert pick(channel="webchat", thumbs_down=True) == ["angry"]
    assert pick(channel="nowhere") == []


def test_most_useful_first_and_reviewed_last(tmp_path):
    everything = reader(tmp_path).conversations()
    order = names(select(everything, Filters(), 0.6))
    assert order[:3] == ["angry", "fallback", "handoff"]
    assert order.index("unsure") < order.index("calm")
    reviewed = names(select(everything, Filters(), 0.6, reviewed={"angry": 1}))
    assert reviewed[-1] == "angry"


def test_new_events_are_read_incrementally(tmp_path):
    tracker = reader(tmp_path, {"a": ev.session() + [ev.user("hi", "greet", 0.9)]})
    assert len(tracker.conversations()) == 1
    ev.write(tmp_path / "tracker.db", {"a": [ev.bot("hello"), ev.slot("feedback", {"rating": "down", "bot_index": 0})],
                                       "b": [ev.user("bye", "goodbye", 0.2)]})
    found = {c.sender_id: c for c in tracker.conversations()}
    assert found["a"].thumbs_down and found["b"].lowest_confidence == 0.2
    assert tracker.conversation("a").turns[0].replies[0].rating == "down"


def test_missing_tracker_is_an_empty_inbox(tmp_path):
    assert TrackerReader(f"sqlite:///{tmp_path / 'none.db'}").conversations() == []
    assert TrackerReader(f"sqlite:///{tmp_path / 'none.db'}").conversation("x") is None


def test_malformed_feedback_is_ignored(tmp_path):
    tracker = reader(tmp_path, {"a": [ev.user("hi", "greet", 0.9), ev.bot("hello"),
                                      ev.slot("feedback", "down"), ev.slot("feedback", {"rating": "meh", "bot_index": 0}),
                                      ev.slot("feedback", {"rating": "down", "bot_index": True})]})
    assert not tracker.conversations()[0].thumbs_down
