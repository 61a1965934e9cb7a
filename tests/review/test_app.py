"""The inbox's web app in-process (aiohttp test client): login, CSRF, annotate, queue, export."""
import asyncio
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from attachments.store import AttachmentStore
from review.app import ReviewApp
from review.queue import ReviewQueue
from review.users import UserStore
from tests import services
from tests.review import events as ev

PASSWORD = "correct horse battery"


def png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture()
def project(tmp_path) -> Path:
    """A copy of the project's domain and data: exports go there, never into the repository."""
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(services.ROOT / "domain.yml", root / "domain.yml")
    shutil.copytree(services.ROOT / "data", root / "data")
    (root / "tests").mkdir()
    return root


@pytest.fixture()
def review(tmp_path, project):
    store = AttachmentStore(tmp_path / "attachments")
    ref = store.save(png(), "png")
    store.save_analysis(ref["id"], {"kind": "screenshot", "labels": [{"label": "web site", "score": 0.7}],
                                    "ocr": {"text": "Sign-in locked"}})
    conversations = ev.sample()
    conversations["picture"][-2]["metadata"]["attachments"][0]["id"] = ref["id"]
    conversations["picture"][-2]["parse_data"]["attachments"][0]["id"] = ref["id"]
    db = ev.write(tmp_path / "tracker.db", conversations)
    users = UserStore(tmp_path / "users.json")
    users.add("alice", PASSWORD)
    app = ReviewApp(tracker_url=f"sqlite:///{db}", users=users, queue=ReviewQueue(tmp_path / "review.db"),
                    store=store, project=project, secret=b"s" * 32)
    app.attachment_id = ref["id"]
    return app


def run(review, scenario):
    async def go():
        async with TestClient(TestServer(review.build())) as client:
            await scenario(client)
    asyncio.run(go())


async def login(client, password=PASSWORD):
    return await client.post("/login", data={"username": "alice", "password": password, "next": "/"},
                             allow_redirects=False)


async def csrf(client, path="/"):
    page = await (await client.get(path)).text()
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def test_no_login_no_data(review):
    async def scenario(client):
        for path in ("/api/conversations", "/api/conversation?id=calm", "/api/queue",
                     f"/attachments/{review.attachment_id}", f"/attachments/{review.attachment_id}/thumb"):
            response = await client.get(path, allow_redirects=False)
            assert response.status == 401, path
            assert (await response.json())["error"]["code"] == "login_required"
        for path in ("/", "/conversation?id=calm", "/queue", "/export"):
            response = await client.get(path, allow_redirects=False)
            assert response.status == 303 and response.headers["Location"].startswith("/login?next="), path
        for path in ("/annotate", "/export", "/queue/1/approve", "/api/annotations"):
            assert (await client.post(path, data={}, allow_redirects=False)).status == 401, path
        assert (await client.get("/login")).status == 200
        client.session.cookie_jar.update_cookies({"parley_review": "forged.value"})
        assert (await client.get("/api/queue")).status == 401
    run(review, scenario)


def test_wrong_password_and_throttle(review):
    async def scenario(client):
        response = await login(client, "wrong password")
        assert response.status == 401 and "Wrong user name or password" in await response.text()
        assert (await client.get("/api/queue")).status == 401
        for _ in range(5):
            await login(client, "wrong again")
        assert (await login(client)).status == 429
    run(review, scenario)


def test_login_sets_a_strict_http_only_cookie_and_logout_ends_it(review):
    async def scenario(client):
        response = await login(client)
        assert response.status == 303
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert (await client.get("/api/queue")).status == 200
        token = await csrf(client)
        assert (await client.post("/logout", data={"csrf": token}, allow_redirects=False)).status == 303
        assert (await client.get("/api/queue")).status == 401
    run(review, scenario)


def test_password_change_ends_sessions(review):
    async def scenario(client):
        await login(client)
        review.users.add("alice", "another password", replace=True)
        assert (await client.get("/api/queue")).status == 401
    run(review, scenario)


def test_posts_need_the_csrf_token_and_the_same_origin(review):
    async def scenario(client):
        await login(client)
        body = {"sender_id": "calm", "turn": "0", "action": "good"}
        assert (await client.post("/annotate", data=body)).status == 403
        assert (await client.post("/annotate", data={**body, "csrf": "nope"})).status == 403
        token = await csrf(client)
        other = await client.post("/annotate", data={**body, "csrf": token},
                                  headers={"Origin": "https://evil.example"})
        assert other.status == 403
        assert (await client.post("/login", data={"username": "alice", "password": PASSWORD},
                                  headers={"Origin": "https://evil.example"})).status == 403
        ok = await client.post("/annotate", data={**body, "csrf": token}, allow_redirects=False)
        assert ok.status == 303
    run(review, scenario)


def test_filters_over_http(review):
    async def scenario(client):
        await login(client)
        listed = await (await client.get("/api/conversations?attachments=1")).json()
        assert [c["sender_id"] for c in listed["conversations"]] == ["picture"]
        listed = await (await client.get("/api/conversations?low=1&threshold=0.5")).json()
        assert {c["sender_id"] for c in listed["conversations"]} == {"fallback", "unsure"}
        assert (await client.get("/api/conversations?low=1&threshold=7")).status == 400
        assert (await client.get("/api/conversations?since=yesterday")).status == 400
        page = await (await client.get("/?thumbs_down=1")).text()
        assert "angry" in page and "calm" not in page
    run(review, scenario)


def test_conversation_page_shows_the_picture_and_its_analysis(review):
    async def scenario(client):
        await login(client)
        page = await (await client.get("/conversation?id=picture")).text()
        assert f"/attachments/{review.attachment_id}/thumb" in page
        assert "Sign-in locked (BW-2002)" in page and "web site" in page and "screenshot" in page
        image = await client.get(f"/attachments/{review.attachment_id}")
        assert image.status == 200 and image.headers["Content-Type"] == "image/png"
        assert image.headers["X-Content-Type-Options"] == "nosniff"
        thumb = await client.get(f"/attachments/{review.attachment_id}/thumb")
        assert thumb.status == 200 and (await thumb.read()).startswith(b"\x89PNG")
        assert (await client.get("/attachments/att_" + "0" * 32)).status == 404
        assert (await client.get("/attachments/..%2F..%2Fetc%2Fpasswd")).status == 404
        assert (await client.get("/conversation?id=nobody")).status == 404
        angry = await (await client.get("/conversation?id=angry")).text()
        assert "thumbs down" in angry
    run(review, scenario)


def test_annotations_are_scrubbed_and_checked(review):
    async def scenario(client):
        await login(client)
        token = await csrf(client)
        headers = {"X-CSRF-Token": token}

        async def post(body):
            return await client.post("/api/annotations", json=body, headers=headers)

        bad = await post({"sender_id": "angry", "turn": 0, "action": "save", "intent": "make_coffee"})
        assert bad.status == 400 and (await bad.json())["error"]["code"] == "unknown_intent"
        bad = await post({"sender_id": "angry", "turn": 0, "action": "save", "intent": "order_status",
                          "entities": [{"entity": "colour", "text": "where"}]})
        assert (await bad.json())["error"]["code"] == "unknown_entity"
        bad = await post({"sender_id": "angry", "turn": 0, "action": "save", "intent": "order_status",
                          "entities": [{"entity": "order_id", "text": "BW-999999"}]})
        assert (await bad.json())["error"]["code"] == "entity_not_in_text"
        bad = await post({"sender_id": "angry", "turn": 0, "action": "save", "intent": "order_status",
                          "text": "something else"})
        assert (await bad.json())["error"]["code"] == "text_not_editable"
        bad = await post({"sender_id": "fallback", "turn": 0, "action": "good"})
        assert (await bad.json())["error"]["code"] == "choose_intent"
        assert (await post({"sender_id": "angry", "turn": 9, "action": "good"})).status == 404
        assert (await client.post("/api/annotations", data="{", headers=headers)).status == 400

        good = await post({"sender_id": "angry", "turn": 0, "action": "good"})
        saved = await good.json()
        assert good.status == 200 and "318904" not in saved["text"]
        assert re.fullmatch(r"where is BW-1\d{5}", saved["text"])
        corrected = await post({"sender_id": "handoff", "turn": 0, "action": "save", "intent": "human_handoff"})
        record = await corrected.json()
        assert "Ben" not in record["text"] and "Okafor" not in record["text"]
        items = await (await client.get("/api/queue")).json()
        assert all(i["status"] == "pending" for i in items["items"]) and len(items["items"]) == 2
        stored = json.dumps(items)
        assert "318904" not in stored and "Okafor" not in stored
    run(review, scenario)


def test_only_approved_examples_are_exported_and_they_validate_as_rasa_data(review, project):
    async def scenario(client):
        await login(client)
        headers = {"X-CSRF-Token": await csrf(client)}
        post = client.post
        a = await (await post("/api/annotations", headers=headers, json={
            "sender_id": "unsure", "turn": 0, "action": "save", "intent": "device_problem"})).json()
        b = await (await post("/api/annotations", headers=headers, json={
            "sender_id": "picture", "turn": 0, "action": "good"})).json()
        c = await (await post("/api/annotations", headers=headers, json={
            "sender_id": "angry", "turn": 0, "action": "save", "intent": "order_status",
            "entities": [{"entity": "order_id", "start": 9, "end": 18}]})).json()
        await post("/api/annotations", headers=headers, json={
            "sender_id": "handoff", "turn": 0, "action": "save", "intent": "human_handoff"})
        for number in (a["id"], b["id"], c["id"]):
            assert (await post(f"/queue/{number}/approve", headers=headers)).status == 200
        result = await (await post("/export", headers=headers)).json()
        assert result["examples"] == 3 and result["errors"] == []
        assert result["stories"] == 3
    run(review, scenario)
    written = (project / "data" / "nlu" / "reviewed.yml").read_text()
    assert "I want a human" not in written  # pending: not exported
    assert "318904" not in written and "ana.lopez" not in written
    content = yaml.safe_load(written)
    intents = {block["intent"]: block["examples"] for block in content["nlu"]}
    assert set(intents) == {"device_problem", "login_problem", "order_status"}
    [picture] = intents["login_problem"]
    assert picture["metadata"]["attachment"]["image_kind"] == "screenshot"
    assert "ana.lopez" not in picture["metadata"]["attachment"]["text"]
    assert re.fullmatch(r"where is \[BW-1\d{5}\]\(order_id\)", intents["order_status"][0]["text"])
    stories = yaml.safe_load((project / "tests" / "test_reviewed_stories.yml").read_text())
    assert len(stories["stories"]) == 3
    # Rasa's own reader takes both files
    from rasa.shared.nlu.training_data.loading import load_data
    data = load_data(str(project / "data" / "nlu" / "reviewed.yml"))
    [order] = [m for m in data.training_examples if m.get("intent") == "order_status"]
    assert order.get("entities")[0]["entity"] == "order_id"


def test_export_refuses_intents_no_longer_in_the_domain_and_skips_rejected(review, project):
    async def scenario(client):
        await login(client)
        headers = {"X-CSRF-Token": await csrf(client)}
        a = await (await client.post("/api/annotations", headers=headers, json={
            "sender_id": "unsure", "turn": 0, "action": "save", "intent": "device_problem"})).json()
        b = await (await client.post("/api/annotations", headers=headers, json={
            "sender_id": "calm", "turn": 0, "action": "good"})).json()
        await client.post(f"/queue/{a['id']}/approve", headers=headers)
        await client.post(f"/queue/{b['id']}/reject", headers=headers)
        assert (await client.post("/queue/999/approve", headers=headers)).status == 404
        domain = (project / "domain.yml").read_text().replace("  - device_problem\n", "", 1)
        (project / "domain.yml").write_text(domain)
        result = await (await client.post("/export", headers=headers)).json()
        assert result["examples"] == 0
        assert "'device_problem' is not an intent of domain.yml" in result["errors"][0]
        page = await (await client.post("/export", data={"csrf": headers["X-CSRF-Token"]})).text()
        assert "not an intent of domain.yml" in page
    run(review, scenario)
    assert "hello" not in (project / "data" / "nlu" / "reviewed.yml").read_text()


def test_a_voice_transcript_can_be_corrected_and_its_entities_follow(review):
    async def scenario(client):
        await login(client)
        headers = {"X-CSRF-Token": await csrf(client)}
        page = await (await client.get("/conversation?id=spoken")).text()
        assert 'name="text"' in page  # the transcript is editable
        saved = await (await client.post("/api/annotations", headers=headers, json={
            "sender_id": "spoken", "turn": 0, "action": "save", "intent": "device_problem",
            "text": "my router is red", "entities": [{"entity": "product", "text": "Router"}]})).json()
        assert saved["text"] == "my router is red"
        assert saved["entities"] == [{"entity": "product", "start": 3, "end": 9, "value": "router"}]
        gone = await client.post("/api/annotations", headers=headers, json={
            "sender_id": "spoken", "turn": 0, "action": "save", "intent": "device_problem",
            "text": "my modem is red", "entities": [{"entity": "product", "text": "Router"}]})
        assert (await gone.json())["error"]["code"] == "entity_not_in_text"
    run(review, scenario)


def test_story_slot_values_are_scrubbed_like_the_words(tmp_path, project):
    text = "it is ana.lopez@example.com, I'm Ana Lopez"
    conversation = ev.session() + [
        ev.user(text, "inform", 0.95, entities=[{"entity": "email", "start": 6, "end": 27,
                                                "value": "ana.lopez@example.com"}]),
        ev.slot("email", "ana.lopez@example.com"), ev.action("identity_form"),
        {"event": "active_loop", "name": None}, ev.slot("verified_order", "BW-318904"),
        ev.action("action_order_status"), ev.bot("Order BW-318904 is on its way, Ana Lopez.")]
    db = ev.write(tmp_path / "tracker.db", {"id": conversation})
    users = UserStore(tmp_path / "users.json")
    users.add("alice", PASSWORD)
    review = ReviewApp(tracker_url=f"sqlite:///{db}", users=users, queue=ReviewQueue(tmp_path / "q.db"),
                       store=AttachmentStore(tmp_path / "a"), project=project, secret=b"s" * 32)

    async def scenario(client):
        await login(client)
        headers = {"X-CSRF-Token": await csrf(client)}
        saved = await (await client.post("/api/annotations", headers=headers, json={
            "sender_id": "id", "turn": 0, "action": "good"})).json()
        await client.post(f"/queue/{saved['id']}/approve", headers=headers)
        assert (await (await client.post("/export", headers=headers)).json())["stories"] == 1
    run(review, scenario)
    written = (project / "tests" / "test_reviewed_stories.yml").read_text()
    assert "ana.lopez" not in written.lower() and "Ana Lopez" not in written and "318904" not in written
    [story] = yaml.safe_load(written)["stories"]
    user, slot = story["steps"][0], story["steps"][1]
    fake = re.search(r"\[([^\]]+)\]\(email\)", user["user"]).group(1)
    assert slot == {"slot_was_set": [{"email": fake}]}
    assert {"active_loop": None} in story["steps"] and {"action": "identity_form"} in story["steps"]
    order = [s for s in story["steps"] if "slot_was_set" in s and "verified_order" in s["slot_was_set"][0]]
    assert re.fullmatch(r"BW-1\d{5}", order[0]["slot_was_set"][0]["verified_order"])


def test_unreviewed_filter_pages_and_approve_all(review):
    async def scenario(client):
        await login(client)
        headers = {"X-CSRF-Token": await csrf(client)}
        await client.post("/api/annotations", headers=headers, json={"sender_id": "calm", "turn": 0, "action": "good"})
        await client.post("/api/annotations", headers=headers, json={
            "sender_id": "unsure", "turn": 0, "action": "save", "intent": "device_problem"})
        listed = await (await client.get("/api/conversations?unreviewed=1")).json()
        assert {"calm", "unsure"}.isdisjoint(c["sender_id"] for c in listed["conversations"])
        assert len(listed["conversations"]) == 5
        assert (await (await client.get("/api/conversations?page=2")).json())["conversations"] == []
        assert (await (await client.get("/api/conversations?page=x")).json())["page"] == 1
        page = await (await client.get("/queue")).text()
        assert "Approve all 2 pending" in page
        done = await (await client.post("/queue/approve-pending", headers=headers)).json()
        assert done == {"approved": 2}
        items = await (await client.get("/api/queue?status=approved")).json()
        assert len(items["items"]) == 2 and all(i["approver"] == "alice" for i in items["items"])
        assert (await client.get("/api/queue?status=bogus")).status == 400
    run(review, scenario)
