"""knowledge/symptoms.py: a device's own symptom in the pack's words is a lookup; anything looser,
another device, a generic page, two codes at once or a safety code is not."""
import pytest

from knowledge.pack import CompanyPack
from knowledge.symptoms import described_code, device_words, phrases
from tests.knowledge.conftest import OUR_PACK


@pytest.fixture(scope="module")
def codes():
    return CompanyPack.load(OUR_PACK).error_codes


@pytest.mark.parametrize("text, code, phrase", [
    ("my router has a solid red light", "BW-R01", "solid red light"),
    ("The mesh wifi light went solid red, no internet", "BW-R01", "solid red light"),
    ("router light is red and it keeps blinking", "BW-R02", "blinking red light"),
    ("the TV just says No Signal", "BW-T07", "no signal"),
    ("my watch says sync failed again", "BW-W05", "sync failed"),
    ("Brightwave Home Devices > Mesh Router Solid red light No internet connection from your "
     "provider. Restart router", "BW-R01", "solid red light"),  # the app's page, read on a screenshot
])
def test_the_device_and_a_whole_screen_phrase_name_the_code(codes, text, code, phrase):
    found = described_code(text, codes)
    assert found is not None and found[0].code == code and found[1] == phrase


@pytest.mark.parametrize("text", [
    "My brother has a solid red light.",                       # no device of ours named
    "my tv won't turn on",                                     # a symptom the pack doesn't list
    "the light on my router is red",                           # not a whole phrase: solid or blinking?
    "my laptop has no internet connection",                    # the router's phrase, another device
    "router shows a solid red light, then a blinking red light",  # two codes: the customer picks
    "Something went wrong. Please try again later.",           # a generic page
    "my session expired",                                      # app and website codes: any site says it
    "my phone says battery temperature too high",              # a safety code: only by its code or safety words
])
def test_anything_looser_is_not_a_lookup(codes, text):
    assert described_code(text, codes) is None


def test_phrases_and_devices_come_from_the_pack(codes):
    router = next(c for c in codes if c.code == "BW-R01")
    assert frozenset({"solid", "red", "light"}) in phrases(router)
    assert {"router", "mesh"} <= device_words(router)
    assert all(not device_words(c) for c in codes if c.where.lower().startswith(("app", "website", "any")))
