"""perception.client from the Python 3.10 side (what Rasa, the channels and the actions use):
every endpoint through the client, and refusals carrying the service's status and code."""
import io
import wave

import pytest

from perception.client import PerceptionClient, PerceptionError, PerceptionUnavailable
from tests import services
from tests.perception import audio_material as am
from tests.perception import image_material as im


@pytest.fixture(scope="module")
def client(perception_url):
    return PerceptionClient(perception_url)


def test_speech_round_trip_through_the_client(client):
    audio = client.synthesize("Please track my parcel to London.")
    with wave.open(io.BytesIO(audio)) as wav:
        assert wav.getnchannels() == 1 and wav.getnframes() > wav.getframerate()
    result = client.transcribe(audio, language="en")
    assert {"parcel", "london"} <= set(am.normalise(result["text"]).split())
    assert result["engine"] == "faster-whisper"


def test_voice_note_in_ogg_through_the_client(client):
    ogg = client.synthesize("I want a refund for my headphones.", audio_format="ogg")
    assert ogg[:4] == b"OggS"
    assert "refund" in am.normalise(client.transcribe(ogg)["text"]).split()


def test_images_through_the_client(client, material):
    folder = material
    screenshot = client.analyze_image((folder / "error_page.png").read_bytes(), top_k=3)
    assert len(screenshot["labels"]) == 3
    assert screenshot["kind"] in ("screenshot", "document")
    assert "BW-1001" in screenshot["ocr"]["text"]
    assert "BW-1001" in client.ocr((folder / "error_page.png").read_bytes())["text"]
    photo = client.analyze_image((folder / "coffee.jpg").read_bytes())
    assert photo["kind"] == "photo" and photo["ocr"] is None


def test_refusals_carry_status_and_code(client):
    with pytest.raises(PerceptionError) as refused:
        client.transcribe(b"this is a text file, not audio")
    assert not isinstance(refused.value, PerceptionUnavailable)
    assert (refused.value.status, refused.value.code) == (415, "unsupported_format")
    with pytest.raises(PerceptionError) as bomb:
        client.analyze_image(im.png_bomb())
    assert (bomb.value.status, bomb.value.code) == (413, "image_too_large")
    with pytest.raises(PerceptionUnavailable):
        PerceptionClient(services.closed_url(), media_timeout=1).transcribe(am.silence(1.0))
