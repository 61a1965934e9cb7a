"""Session start, declining an offer, and no I/O at import time."""
import os
import subprocess
import sys

from actions.dialogue import ActionDecline, ActionSessionStart
from tests.actions.conftest import ROOT, make_tracker, run, slot_events


def test_session_start_names_the_company(domain):
    _, _, events = run(ActionSessionStart(), make_tracker(), domain)
    assert events[0]["event"] == "session_started"
    assert slot_events(events)["company_name"] == "Brightwave Electronics"
    assert events[-1]["event"] == "action" and events[-1]["name"] == "action_listen"


def test_decline_clears_the_pending_question(domain):
    tracker = make_tracker("no", "deny", slots={"next_step": "confirm_cancel"})
    texts, responses, events = run(ActionDecline(), tracker, domain)
    assert "left the order as it is" in texts[0] and responses == ["utter_anything_else"]
    assert slot_events(events)["next_step"] is None


def test_importing_actions_does_no_io(tmp_path):
    """A fresh interpreter imports every skill without touching the database or the pack."""
    db = tmp_path / "never.db"
    env = {**os.environ, "PARLEY_DB": str(db), "COMPANY_DIR": str(tmp_path / "no-pack")}
    code = ("from rasa_sdk.executor import ActionExecutor; e = ActionExecutor(); "
            "e.register_package('actions'); print(len(e.actions))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout.strip().splitlines()[-1]) > 10
    assert not db.exists()
