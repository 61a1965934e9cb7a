"""The voice channel with the perception service down (an address where nothing listens): the
caller is told, as an event on the socket or a JSON 503, and the call and the server go on."""
import asyncio
import uuid

import requests

from tests import services
from tests.perception import audio_material as am
from tests.voice.call import VoiceCall, silence, speech


def test_a_call_is_told_it_cannot_be_heard_and_goes_on(assistant_without_perception):
    url = assistant_without_perception.url.replace("http://", "ws://") + "/webhooks/voice/stream"

    async def call():
        voice = await VoiceCall(url).open()
        # without the VAD, loudness decides: the question is still a turn
        voice.say(silence(0.3), speech("Do you ship to Canada?"))
        await voice.wait_for("error")
        voice.say(speech("Hello?"))
        await voice.wait_until(lambda: len(voice.all("error")) == 2, what="a second error")
        await voice.stop()
        return voice

    voice = asyncio.run(asyncio.wait_for(call(), 300))
    errors = voice.all("error")
    assert [e["code"] for e in errors] == ["perception_unavailable"] * 2
    assert all(e["fatal"] is False and e["message"] for e in errors)
    assert voice.find("transcript") is None and not voice.binary
    assert voice.find("bye") and voice.close_code == 1000


def test_a_recording_gets_a_503_json_error(assistant_without_perception):
    response = requests.post(f"{assistant_without_perception.url}/webhooks/voice/turn",
                             params={"sender": "x"}, data=am.silence(1.0), timeout=120,
                             headers=services.channel_auth())
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "perception_unavailable"
    # typed text still works
    assert assistant_without_perception.texts(f"t-{uuid.uuid4().hex[:6]}", "hello")
