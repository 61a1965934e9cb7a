"""No e-mail, phone number, card number or customer name in any log line, at DEBUG, from Rasa, the
action server and the perception service, whatever channel brought it: typed text (REST), a voice
note's transcript and a picture's OCR text (multimodal channel). Rasa and the action server run
with `--logging-config-file privacy/logging.yml` (privacy/redact.py), the perception service
installs it itself."""
import io
import re
from typing import Iterator, List

import pytest
from PIL import Image, ImageDraw, ImageFont

from privacy.redact import Redactor
from privacy.pii import customer_names
from tests import services
from tests.conftest import Assistant
from tests.perception.audio_material import espeak

LOGGING = ["--logging-config-file", "privacy/logging.yml"]
SDK_LOGGING = ["--logging-config_file", "privacy/logging.yml"]  # rasa_sdk 3.6 spells it so
TYPED = ["my email is ana.lopez@example.com", "call me on +1-212-555-0110",
         "my card number is 4111 1111 1111 1111", "this is Ben Okafor, where is my order?"]
TYPED_VALUES = ["ana.lopez@example.com", "+1-212-555-0110", "212-555-0110", "4111 1111 1111 1111",
                "4111111111111111", "Ben Okafor", "Okafor"]
PICTURE_VALUES = ["5500 0000 0000 0004", "5500000000000004", "carla.reyes@example.com"]


@pytest.fixture(scope="module")
def logged(trained_model, perception_url, rasa_token, tmp_path_factory) -> Iterator[Assistant]:
    folder = tmp_path_factory.mktemp("privacy-logs")
    db = services.seed_db(folder / "company.db")
    actions = services.start_actions("privacy-actions", db, perception_url, extra_args=["-vv", *SDK_LOGGING],
                                     wait=False)
    rasa = services.start_rasa("privacy-rasa", trained_model, actions.health_url.rsplit("/health", 1)[0],
                               perception_url, folder / "tracker.db", rasa_token,
                               attachments_dir=folder / "attachments", extra_args=["--debug", *LOGGING],
                               wait=False)
    services.start_together(actions, rasa)
    yield Assistant(rasa, rasa_token, db, folder / "attachments", folder / "tracker.db")
    rasa.stop()
    actions.stop()


def picture() -> bytes:
    image = Image.new("RGB", (1100, 260), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 44)
    draw.text((30, 40), "Card: 5500 0000 0000 0004", fill="black", font=font)
    draw.text((30, 140), "Email: carla.reyes@example.com", fill="black", font=font)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def logs() -> str:
    names = ["privacy-rasa", "privacy-actions", "perception"]
    return "\n".join((services.ARTIFACTS / f"{name}.log").read_text(errors="replace") for name in names)


def test_no_personal_data_in_any_log(logged: Assistant, tmp_path):
    for text in TYPED:
        logged.say("privacy-typed", text)

    wav = espeak("my email is ben dot okafor at example dot com. my phone number is 312 555 0111.",
                 tmp_path / "voice.wav")
    response = logged.send("privacy-voice", files=[("note.wav", wav.read_bytes())])
    assert response.status_code == 200, response.text
    transcripts = [m["custom"]["transcript"] for m in response.json()
                   if isinstance(m.get("custom"), dict) and "transcript" in m["custom"]]
    assert transcripts, response.json()
    found = Redactor(customer_names).scrubber().find(transcripts[0])
    spoken: List[str] = [transcripts[0][s.start:s.end] for s in found]
    assert spoken, f"the transcript holds no personal data to look for: {transcripts[0]!r}"

    response = logged.send("privacy-picture", "what is this?", files=[("statement.png", picture())])
    assert response.status_code == 200, response.text

    # the same conversations are in Rasa (the values did reach it), but not in the logs
    typed_events = logged.tracker("privacy-typed")["events"]
    assert any("ana.lopez@example.com" in (e.get("text") or "") for e in typed_events)
    text = logs()
    assert "[email]" in text  # the log lines are there, redacted
    leaked = [value for value in TYPED_VALUES + PICTURE_VALUES + spoken
              if re.search(re.escape(value), text, re.I)]
    assert not leaked, f"personal data in the logs: {leaked}"
