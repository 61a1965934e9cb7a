"""The Redis lock store down (scale-out, endpoints.scaled.yml; this session's own redis-server):
every message is refused with 503 lock_store_unavailable at once (no hang), nothing of it is
processed or stored (no turn without its conversation's lock), and once Redis is back on the
same port the conversation goes on without restarting Rasa, turns never interleaved."""
import asyncio
import uuid

import requests

from tests import services


def sender() -> str:
    return f"faults-{uuid.uuid4().hex[:10]}"


def user_texts(events: list) -> list:
    return [e["text"] for e in events if e["event"] == "user"]


def assert_not_interleaved(events: list) -> None:
    """Each turn ends (action_listen) before the next message starts being processed."""
    previous = None
    for event in events:
        if event["event"] == "user":
            assert previous is None or previous == ("action", "action_listen"), previous
        if event["event"] in ("user", "action"):
            previous = (event["event"], event.get("name"))


def test_redis_down_refuses_messages_and_stores_nothing(healthy):
    me = sender()
    assert healthy.texts(me, "hello")
    before = healthy.events(me)
    healthy.redis.stop()
    try:
        for text in ("where is my order BW-318904", "hi there"):
            response = healthy.post(me, text)
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "lock_store_unavailable"
            multimodal = healthy.send(me, text=text)
            assert multimodal.status_code == 503, multimodal.text
            assert multimodal.json()["error"]["code"] == "lock_store_unavailable"
        ready = requests.get(f"{healthy.url}/webhooks/health/ready", timeout=60)
        assert ready.status_code == 503 and ready.json()["lock_store"].startswith("unavailable")
        assert healthy.events(me) == before  # nothing processed without the lock
    finally:
        healthy.redis.start()  # same port, empty: redis-py reconnects by itself
    assert healthy.texts(me, "thanks")
    assert user_texts(healthy.events(me)) == ["hello", "thanks"]


def test_concurrent_messages_while_redis_is_down_and_after(healthy):
    import aiohttp

    me = sender()
    texts = [f"hello number {n}" for n in range(1, 6)]

    async def burst() -> list:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=600)) as session:
            async def one(text):
                async with session.post(f"{healthy.url}/webhooks/rest/webhook",
                                        json={"sender": me, "message": text},
                                        headers=services.channel_auth()) as answer:
                    return answer.status
            return await asyncio.gather(*(one(text) for text in texts))

    healthy.redis.stop()
    try:
        assert asyncio.run(burst()) == [503] * len(texts)
    finally:
        healthy.redis.start()
    assert healthy.events(me) == [] or user_texts(healthy.events(me)) == []
    assert asyncio.run(burst()) == [200] * len(texts)
    events = healthy.events(me)
    assert sorted(user_texts(events)) == sorted(texts)  # each once, none lost
    assert_not_interleaved(events)
    keys = list(healthy.redis.client().scan_iter(f"{healthy.key_prefix}*"))
    assert keys == []  # every lock released
