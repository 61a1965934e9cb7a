"""The Slack channel (channels/slack.py) end to end: the real Rasa server with the trained model,
action server and perception service, and a local stand-in for Slack (tests/slack/stand_in.py)
that serves the files, records chat.postMessage and signs Events API requests like Slack.

Answers are awaited by polling what the stand-in received (a generous deadline, not a measure of
speed). "Nothing was processed" is checked after a later message from the same customer has been
answered: Rasa handles one customer's messages in order, so anything still pending would be done.
"""
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List

import pytest
import requests

from attachments.store import AttachmentStore
from tests import services
from tests.perception import audio_material as am
from tests.slack import stand_in as slack
from tests.slack.stand_in import SlackStandIn

TOKEN = "xoxb-0000-standin-" + uuid.uuid4().hex[:12]
SECRET = uuid.uuid4().hex
ROUTER = "my router is showing a solid red light"  # espeak-ng: "my router has ..." came back "My brother has ..." on one machine
ROUTER_FIX = "restart the modem"
ORDER = "where is my order"
ORDER_QUESTION = "your order number"


@dataclass
class SlackSetup:
    url: str            # Rasa
    webhook: str        # the Events API request URL
    token: str          # Rasa's HTTP API token
    stand_in: SlackStandIn
    attachments_dir: Path

    def send(self, inner: Dict, **kwargs) -> requests.Response:
        return slack.post_event(self.webhook, SECRET, slack.event(inner), **kwargs)

    def user_events(self, sender: str) -> List[dict]:
        reply = requests.get(f"{self.url}/conversations/{sender}/tracker", params={"token": self.token},
                             timeout=30)
        reply.raise_for_status()
        return [e for e in reply.json()["events"] if e["event"] == "user"]

    def settle(self, user: str, channel: str) -> None:
        """A later message from `user`, answered: whatever came before it is finished."""
        inner = slack.dm(user, channel, ROUTER)
        assert self.send(inner).status_code == 200
        self.stand_in.wait_for_text(channel, inner["ts"], ROUTER_FIX)


def ids() -> tuple:
    return slack.new_id("U"), slack.new_id("D")


@pytest.fixture(scope="module")
def slack_assistant(trained_model, perception_url, rasa_token, tmp_path_factory) -> Iterator[SlackSetup]:
    stand_in = SlackStandIn(TOKEN).start()
    folder = tmp_path_factory.mktemp("slack")
    db = services.seed_db(folder / "company.db")
    actions = services.start_actions("slack-actions", db, perception_url, wait=False)
    rasa = services.start_rasa(
        "slack-rasa", trained_model, actions.health_url.rsplit("/health", 1)[0], perception_url,
        folder / "tracker.db", rasa_token, attachments_dir=folder / "attachments",
        extra_env={"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SECRET,
                   "SLACK_API_URL": stand_in.api_url}, wait=False)
    try:
        services.start_together(actions, rasa)
    except Exception:
        actions.stop()
        stand_in.stop()
        raise
    url = rasa.health_url.rstrip("/")
    yield SlackSetup(url, f"{url}/webhooks/slack/webhook", rasa_token, stand_in, folder / "attachments")
    rasa.stop()
    actions.stop()
    stand_in.stop()


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Dict[str, bytes]:
    """espeak-ng speech as Slack audio clips: AAC in MP4 and Opus in WebM."""
    clips = {}
    for fmt, words in (("m4a", ROUTER), ("webm", ORDER)):
        folder = tmp_path_factory.mktemp(f"slack-audio-{fmt}")
        wav = am.espeak(words, folder / "speech.wav")
        clips[fmt] = am.encode(wav, folder, [fmt])[fmt].read_bytes()
    return clips


# ---------------------------------------------------------------- signatures, replays, retries


def test_url_verification_needs_a_signature(slack_assistant):
    challenge = {"token": "deprecated", "challenge": uuid.uuid4().hex, "type": "url_verification"}
    reply = slack.post_event(slack_assistant.webhook, SECRET, challenge)
    assert reply.status_code == 200 and reply.json() == {"challenge": challenge["challenge"]}
    forged = slack.post_event(slack_assistant.webhook, "not-the-secret", challenge)
    assert forged.status_code == 401 and forged.json()["error"]["code"] == "invalid_signature"
    assert challenge["challenge"] not in forged.text


def test_forged_requests_are_refused_and_nothing_is_processed(slack_assistant):
    user, channel = ids()
    inner = slack.dm(user, channel, ROUTER)
    payload = slack.event(inner)
    body = json.dumps(payload).encode()
    webhook = slack_assistant.webhook
    attempts = [
        slack.post_event(webhook, "not-the-secret", payload),                        # wrong secret
        requests.post(webhook, data=body, headers={"Content-Type": "application/json"}, timeout=30),
        slack.post_event(webhook, SECRET, payload,                                   # another body's signature
                         headers=slack.sign(SECRET, body + b" ")),
        slack.post_event(webhook, SECRET, payload, headers={"X-Slack-Signature": "v0=" + "0" * 64}),
        slack.post_event(webhook, SECRET, payload, headers={"X-Slack-Request-Timestamp": "12e3"}),
    ]
    for reply in attempts:
        assert reply.status_code == 401, reply.text
        assert reply.json()["error"]["code"] == "invalid_signature"
    slack_assistant.settle(user, channel)
    assert slack_assistant.stand_in.posts(channel, inner["ts"]) == []
    assert [e["text"] for e in slack_assistant.user_events(user)] == [ROUTER]  # only the later one


@pytest.mark.parametrize("age_s", [6 * 60, -6 * 60])
def test_a_replayed_request_is_refused(slack_assistant, age_s):
    user, channel = ids()
    inner = slack.dm(user, channel, ROUTER)
    reply = slack_assistant.send(inner, timestamp=int(time.time()) - age_s)  # validly signed, but old
    assert reply.status_code == 401 and reply.json()["error"]["code"] == "stale_request"
    slack_assistant.settle(user, channel)
    assert slack_assistant.stand_in.posts(channel, inner["ts"]) == []
    assert len(slack_assistant.user_events(user)) == 1


def test_a_retry_is_acknowledged_but_not_processed_twice(slack_assistant):
    user, channel = ids()
    inner = slack.dm(user, channel, ORDER)
    payload = slack.event(inner)
    webhook = slack_assistant.webhook
    assert slack.post_event(webhook, SECRET, payload).status_code == 200
    for number in (1, 2):  # Slack re-signs each retry with a new timestamp
        retry = slack.post_event(webhook, SECRET, payload, retry=number)
        assert retry.status_code == 200 and retry.headers.get("X-Slack-No-Retry") == "1"
    stand_in = slack_assistant.stand_in
    stand_in.wait_for(lambda: stand_in.posts(channel, inner["ts"]), what="the answer")
    slack_assistant.settle(user, channel)
    assert [e["text"] for e in slack_assistant.user_events(user)].count(ORDER) == 1
    answered = [p["text"] for p in stand_in.posts(channel, inner["ts"])]
    assert len(answered) == len(set(answered)), answered  # no answer posted twice


def test_bot_messages_edits_and_other_channels_are_ignored(slack_assistant):
    user, channel = ids()
    ignored = [
        dict(slack.dm(user, channel, ROUTER), bot_id="B0PARLEY"),                    # our own answer
        dict(slack.dm(user, channel, ROUTER), subtype="message_changed"),            # an edit
        dict(slack.dm(user, "C0PUBLIC1", ROUTER), channel_type="channel"),           # not a DM, no mention
        dict(slack.dm(slack.BOT_USER, channel, ROUTER)),                             # the bot user itself
    ]
    for inner in ignored:
        assert slack_assistant.send(inner).status_code == 200
    slack_assistant.settle(user, channel)
    for inner in ignored:
        assert slack_assistant.stand_in.posts(inner["channel"], inner["ts"]) == []
    assert len(slack_assistant.user_events(user)) == 1


# ---------------------------------------------------------------- messages and files


def test_direct_message_is_answered_in_its_thread(slack_assistant):
    user, channel = ids()
    inner = slack.dm(user, channel, ROUTER)
    reply = slack_assistant.send(inner)
    assert reply.status_code == 200
    slack_assistant.stand_in.wait_for_text(channel, inner["ts"], ROUTER_FIX)
    posted = slack_assistant.stand_in.posts(channel)
    assert posted and all(p.get("thread_ts") == inner["ts"] for p in posted)


def test_screenshot_is_answered_with_its_fix(slack_assistant, pictures, expected):
    user, channel = ids()
    stand_in = slack_assistant.stand_in
    file = stand_in.add_file("Screenshot 2026-03-02 at 09.41.07.png", (pictures / "signin_locked.png").read_bytes(),
                             "image/png")
    inner = slack.dm(user, channel, "", [file])
    assert slack_assistant.send(inner).status_code == 200
    stand_in.wait_for_text(channel, inner["ts"], f"i can see error {expected['signin_code']}",
                           expected["signin_fix"].rstrip("."))
    assert [d["status"] for d in stand_in.downloads_of(file["id"])] == [200]
    [event] = slack_assistant.user_events(user)
    assert event["text"] == "[image]"
    assert event["parse_data"]["attachments"][0]["image_kind"] == "screenshot"
    [ref] = event["metadata"]["attachments"]
    assert AttachmentStore(slack_assistant.attachments_dir).read(ref["id"]) == file_bytes(pictures)
    assert event["metadata"]["thread_id"] == inner["ts"]


def file_bytes(pictures: Path) -> bytes:
    return (pictures / "signin_locked.png").read_bytes()


def test_mention_with_a_screenshot_and_words(slack_assistant, pictures):
    user, channel = slack.new_id("U"), slack.new_id("C")
    stand_in = slack_assistant.stand_in
    file = stand_in.add_file("image.png", (pictures / "checkout_declined.png").read_bytes(), "image/png")
    inner = slack.mention(user, channel, "what does this mean?", [file])
    assert slack_assistant.send(inner).status_code == 200
    stand_in.wait_for_text(channel, inner["ts"], "bw-1001", "billing address")
    [event] = slack_assistant.user_events(user)
    assert event["text"] == "what does this mean?"  # the mention of the bot is not part of it


def test_file_known_only_by_id_is_looked_up(slack_assistant, pictures, expected):
    user, channel = ids()
    stand_in = slack_assistant.stand_in
    full = stand_in.add_file("shot.png", file_bytes(pictures), "image/png")
    partial = {"id": full["id"], "mode": "hosted", "file_access": "check_file_info", "created": full["created"],
               "user": user}
    inner = slack.dm(user, channel, "", [partial])
    assert slack_assistant.send(inner).status_code == 200
    stand_in.wait_for_text(channel, inner["ts"], expected["signin_code"])
    assert any(c["method"] == "files.info" and c["args"].get("file") == full["id"] for c in stand_in.calls)


@pytest.mark.parametrize("fmt, mimetype, words, answer", [
    ("m4a", "audio/mp4", "red light", ROUTER_FIX),
    ("webm", "audio/webm", "order", ORDER_QUESTION),
])
def test_audio_clip_is_transcribed_and_answered(slack_assistant, clips, fmt, mimetype, words, answer):
    user, channel = ids()
    stand_in = slack_assistant.stand_in
    file = stand_in.add_file(f"audio_message.{fmt}", clips[fmt], mimetype, subtype="slack_audio",
                             transcription={"status": "processing"})
    inner = slack.dm(user, channel, "", [file])
    assert slack_assistant.send(inner).status_code == 200
    text = stand_in.wait_for_text(channel, inner["ts"], "i heard", words, answer)
    assert text.index("i heard") < text.index(answer)  # the transcript first, then the answer
    [event] = slack_assistant.user_events(user)
    assert words in event["text"].lower()
    assert event["metadata"]["voice"]["transcript"] == event["text"]
    assert event["metadata"]["attachments"][0]["format"] == fmt


def test_a_text_file_named_png_gets_a_note_and_the_words_are_answered(slack_assistant):
    user, channel = ids()
    stand_in = slack_assistant.stand_in
    file = stand_in.add_file("photo.png", b"this is a plain text file, not a picture\n" * 20, "image/png")
    inner = slack.dm(user, channel, ROUTER, [file])
    assert slack_assistant.send(inner).status_code == 200
    stand_in.wait_for_text(channel, inner["ts"], "couldn't open the file you sent", ROUTER_FIX)
    [event] = slack_assistant.user_events(user)
    assert event["metadata"]["attachments"] == []


def test_a_file_over_the_cap_is_cut_off_while_it_downloads(slack_assistant):
    user, channel = ids()
    stand_in = slack_assistant.stand_in
    png_head = b"\x89PNG\r\n\x1a\n" + bytes(56)
    total = 64 * 1024 * 1024
    streamed = stand_in.add_stream("huge.png", png_head, total, declared_size=2000)  # the size lies
    declared = stand_in.add_file("poster.png", png_head, "image/png", size=200 * 1024 * 1024)
    inner = slack.dm(user, channel, "", [streamed, declared])
    assert slack_assistant.send(inner).status_code == 200
    stand_in.wait_for_text(channel, inner["ts"], "file 1 of the 2 you shared is too large",
                           "file 2 of the 2 you shared is too large")
    [download] = stand_in.downloads_of(streamed["id"])
    assert not download["complete"] and download["sent"] < total
    assert stand_in.downloads_of(declared["id"]) == []  # refused from its declared size
    slack_assistant.settle(user, channel)
    assert len(slack_assistant.user_events(user)) == 1  # only files that failed: nothing for Rasa


def test_files_that_cannot_be_downloaded_get_notes_and_the_words_are_answered(slack_assistant, pictures):
    user, channel = ids()
    stand_in = slack_assistant.stand_in
    elsewhere = SlackStandIn(TOKEN).start()  # another host: never fetched (no request forgery)
    try:
        foreign = elsewhere.add_file("shot.png", file_bytes(pictures), "image/png")
        missing = dict(stand_in.add_file("gone.png", file_bytes(pictures), "image/png"))
        for key in ("url_private", "url_private_download"):
            missing[key] = missing[key].replace(missing["id"], "F0NOSUCHFILE")
        other_token = stand_in.add_file("shot.png", file_bytes(pictures), "image/png", token="xoxb-someone-else")
        deleted = {"id": slack.new_id("F"), "mode": "tombstone"}
        inner = slack.dm(user, channel, ROUTER, [foreign, missing, other_token, deleted])
        assert slack_assistant.send(inner).status_code == 200
        stand_in.wait_for_text(channel, inner["ts"], "couldn't download file 1 of the 4",
                               "couldn't download file 2 of the 4", "couldn't download file 3 of the 4",
                               "file 4 of the 4 you shared is no longer available", ROUTER_FIX)
        assert elsewhere.downloads == [] and elsewhere.calls == []
        assert [d["status"] for d in stand_in.downloads_of(other_token["id"])] == [403]
    finally:
        elsewhere.stop()


# ---------------------------------------------------------------- not configured


def test_without_a_token_the_channel_answers_503(assistant):
    """The session assistant starts from credentials.yml with SLACK_BOT_TOKEN empty."""
    for reply in (requests.get(f"{assistant.url}/webhooks/slack/", timeout=30),
                  requests.post(f"{assistant.url}/webhooks/slack/webhook", json={"type": "url_verification",
                                                                                 "challenge": "x"}, timeout=30)):
        assert reply.status_code == 503
        assert reply.json()["error"]["code"] == "slack_not_configured"
    log = (services.ARTIFACTS / "assistant-rasa.log").read_text(errors="replace")
    assert log.count("the Slack channel is off") == 1
