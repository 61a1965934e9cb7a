"""Scale-out: two Rasa instances on one PostgreSQL tracker store and one Redis lock store
(endpoints.scaled.yml). Module order matters little, but the database-down test runs last."""
from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
import time

import requests

from tests import services

LOCK_ERRORS = re.compile(r"LockError|Could not acquire lock|TicketExists", re.IGNORECASE)


def test_both_instances_are_ready(cluster):
    for instance in cluster.instances:
        answer = requests.get(f"{instance.url}/webhooks/health/ready", timeout=30)
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"status": "ready", "tracker_store": "ok", "lock_store": "ok"}


def test_twenty_messages_alternating_between_instances_arrive_in_order(cluster):
    sender = f"alternate-{secrets.token_hex(4)}"
    texts = [f"hello number {number}" for number in range(1, 21)]
    for number, text in enumerate(texts):
        assert cluster.say(number % 2, sender, text), "no answer"
    assert cluster.user_texts(sender, 0) == texts
    assert cluster.user_texts(sender, 1) == texts  # the other instance sees the same tracker


def test_an_instance_restarted_between_turns_loses_nothing(cluster):
    sender = f"restart-{secrets.token_hex(4)}"
    cluster.say(0, sender, "hello")
    cluster.say(0, sender, "hi there")
    before = cluster.tracker(sender, 1)["events"]
    cluster.instances[0].restart()
    after = cluster.tracker(sender, 0)["events"]
    assert after == before
    cluster.say(0, sender, "thanks")
    cluster.say(1, sender, "bye")
    assert cluster.user_texts(sender, 0) == ["hello", "hi there", "thanks", "bye"]


def test_a_hundred_concurrent_conversations_complete_without_lock_errors(cluster):
    import aiohttp

    turns = ["hello", "hi", "thanks"]
    senders = [f"crowd-{number}-{secrets.token_hex(3)}" for number in range(100)]
    logs_before = [len(instance.log()) for instance in cluster.instances]

    async def conversation(session, index, sender):
        for turn, text in enumerate(turns):
            url = cluster.instances[(index + turn) % 2].url
            async with session.post(f"{url}/webhooks/rest/webhook", headers=services.channel_auth(),
                                    json={"sender": sender, "message": text}) as answer:
                assert answer.status == 200
                assert await answer.json(), f"{sender} got no answer to turn {turn}"

    async def everyone():
        timeout = aiohttp.ClientTimeout(total=900)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            await asyncio.gather(*(conversation(session, i, s) for i, s in enumerate(senders)))

    asyncio.run(everyone())
    for sender in senders[::7] + senders[-1:]:
        assert cluster.user_texts(sender, 1) == turns
    for instance, start in zip(cluster.instances, logs_before):
        assert not LOCK_ERRORS.search(instance.log()[start:])


def test_a_mistyped_tracker_store_type_stops_start_up(cluster, trained_model, tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text((services.ROOT / "endpoints.scaled.yml").read_text().replace(
        "stores.strict_sql.StrictSQLTrackerStore", "stores.strict_sql.StrictSQLTrakcerStore"))
    command = [str(services.VENV_DIALOGUE / "bin" / "python"), "-m", "rasa_extensions", "run",
               "--model", trained_model,
               "--endpoints", str(endpoints), "--credentials", "credentials.yml",
               "--port", str(services.free_port())]
    env = services.base_env(PARLEY_CHANNEL_SECRET=services.CHANNEL_SECRET, **cluster.env)
    result = subprocess.run(command, env=env, cwd=services.ROOT,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode != 0
    assert "StrictSQLTrakcerStore" in result.stdout + result.stderr
    assert "not found" in result.stdout + result.stderr


def test_database_down_fails_loudly_and_recovery_loses_nothing(cluster):
    sender = f"outage-{secrets.token_hex(4)}"
    cluster.say(0, sender, "hello")
    before = cluster.tracker(sender, 0)["events"]
    cluster.proxy.stop()
    try:
        for instance in cluster.instances:
            answer = requests.get(f"{instance.url}/webhooks/health/ready", timeout=60)
            assert answer.status_code == 503
            assert answer.json()["tracker_store"].startswith("unavailable")
            assert answer.json()["lock_store"] == "ok"
            refused = requests.post(f"{instance.url}/webhooks/multimodal/webhook",
                                    headers=services.channel_auth(),
                                    json={"sender": sender, "message": "are you there"},
                                    timeout=120)
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "store_unavailable"
            refused = requests.post(f"{instance.url}/webhooks/rest/webhook", headers=services.channel_auth(),
                                    json={"sender": sender, "message": "hello again"}, timeout=120)
            assert refused.status_code == 503  # not 200 [] (a silent success)
            assert refused.json()["error"]["code"] == "store_unavailable"
    finally:
        cluster.proxy.start()
    for instance in cluster.instances:  # stale pooled connections are replaced
        for _ in range(30):
            if requests.get(f"{instance.url}/webhooks/health/ready", timeout=60).ok:
                break
            time.sleep(1)
        else:
            raise AssertionError(f"{instance.name} not ready after the database came back")
    after = cluster.tracker(sender, 1)["events"]
    assert after == before  # nothing of the refused messages was written, nothing forked
    answer = requests.post(f"{cluster.instances[1].url}/webhooks/multimodal/webhook",
                           headers=services.channel_auth(),
                           json={"sender": sender, "message": "thanks"}, timeout=120)
    assert answer.status_code == 200 and answer.json()
    events = cluster.tracker(sender, 0)["events"]
    assert events[:len(before)] == before
    assert [e["text"] for e in events if e["event"] == "user"] == ["hello", "thanks"]
    stamps = [(e["event"], e["timestamp"]) for e in events]
    assert len(stamps) == len(set(stamps))  # no duplicated events
