"""The pure parts of the speech, TTS and OCR benchmarks (bench/speech.py, bench/ocr.py,
bench/wer.py): noise mixing at a given SNR, error rates, degradations and the material lists.
No service is started and nothing is timed here."""
import io

import numpy as np
import pytest
from PIL import Image

from bench import ocr, speech
from bench.wer import cer, squeeze, wer

RATE = 16000


def bursts(seconds: float = 3.0, amplitude: float = 0.3) -> np.ndarray:
    """Speech-like test signal: tone bursts with silent gaps and silent edges."""
    t = np.arange(int(seconds * RATE)) / RATE
    signal = amplitude * np.sin(2 * np.pi * 220 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    gate = (np.sin(2 * np.pi * 0.7 * t) > 0) & (t > 0.4) & (t < seconds - 0.4)
    return signal * gate


@pytest.mark.parametrize("snr_db", [10.0, 0.0, 25.0])
def test_mixed_noise_has_the_asked_snr(snr_db):
    clean = bursts()
    noisy = speech.mix_noise(clean, RATE, snr_db, seed=3)
    assert noisy.shape == clean.shape
    assert abs(speech.measured_snr(clean, noisy, RATE) - snr_db) < 0.1


def test_snr_holds_when_the_mix_is_scaled_down_to_avoid_clipping():
    clean = bursts(amplitude=0.95)
    noisy = speech.mix_noise(clean, RATE, 10.0, seed=1)
    assert np.abs(noisy).max() <= 0.99 + 1e-9
    assert abs(speech.measured_snr(clean, noisy, RATE) - 10.0) < 0.1


def test_snr_is_on_active_speech_not_on_the_silence():
    clean = bursts()
    whole_clip_power = float(np.mean(clean ** 2))
    assert speech.active_power(clean, RATE) > 1.5 * whole_clip_power
    padded = np.concatenate([np.zeros(RATE * 2), clean, np.zeros(RATE * 2)])
    assert speech.active_power(padded, RATE) == pytest.approx(speech.active_power(clean, RATE), rel=0.02)


def test_pink_noise_is_seeded_unit_power_and_falls_with_frequency():
    a = speech.pink_noise(RATE * 2, np.random.default_rng(7))
    b = speech.pink_noise(RATE * 2, np.random.default_rng(7))
    c = speech.pink_noise(RATE * 2, np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.mean(a ** 2) == pytest.approx(1.0, rel=1e-6)
    power = np.abs(np.fft.rfft(a)) ** 2
    low, high = power[10:200].mean(), power[-2000:].mean()
    assert low > 20 * high  # white noise would give about 1


def test_wav_round_trip_keeps_the_samples():
    clean = bursts(1.0)
    samples, rate = speech.read_wav(speech.write_wav(clean, RATE))
    assert rate == RATE and len(samples) == len(clean)
    assert np.abs(samples - clean).max() < 1 / 16000


def test_sentence_list_is_long_varied_and_unique():
    texts = speech.sentences()
    assert len(texts) >= 100
    assert len(set(texts)) == len(texts)
    assert not any(text.startswith("#") for text in texts)
    assert len(speech.VOICES) >= 3


@pytest.mark.parametrize("reference, hypothesis, expected", [
    ("BW-1001", "BW-1001", 0.0),
    ("Order BW-723241\n  Total $418.00", "Order BW-723241 Total $418.00", 0.0),  # whitespace is normalised
    ("abcd", "abxd", 0.25),                      # one substitution
    ("abcd", "abd", 0.25),                       # one deletion
    ("abcd", "abcde", 0.25),                     # one insertion
    ("BW-1001", "bw-1001", 2 / 7),               # case counts
    ("ab", "xxxxxx", 3.0),                       # longer output can exceed 1
    ("", "", 0.0),
    ("", "x", 1.0),
    ("abc", "", 1.0),
])
def test_cer_on_known_strings(reference, hypothesis, expected):
    assert cer(reference, hypothesis) == pytest.approx(expected)


def test_squeeze_and_wer_still_agree_with_their_rules():
    assert squeeze("  a \t b\n\nc ") == "a b c"
    assert wer("order 4571 please", "Order four five seven one, please.") == 0.0
    assert wer("the screen shows error B W one zero zero one", "The screen shows error BW1001") == 0.0
    assert wer("one two three", "one three") == pytest.approx(1 / 3)


def test_wer_reads_codes_and_model_numbers_as_said():
    assert wer("The router shows B W R zero one", "The router shows BW-R01.") == 0.0
    assert wer("My Vista 55 TV", "My Vista fifty-five TV") == 0.0
    assert wer("the Aero 14", "the Aero fourteen") == 0.0
    assert wer("order B W two seven six two one one", "order BW-276211") == 0.0
    assert wer("My router has a solid red light", "My brother has a solid red light") == pytest.approx(1 / 7)


def test_domain_sentences_say_the_pack_words():
    texts = speech.sentences(speech.DOMAIN_FILE)
    assert len(texts) >= 40 and len(set(texts)) == len(texts)
    joined = " ".join(texts).lower()
    for word in ("router", "earbuds", "tv", "e twelve", "b w r zero two", "b w two seven six two one one"):
        assert word in joined, word


def picture() -> Image.Image:
    image, _ = ocr.sheet("Brightwave Electronics - Invoice", ["Order BW-723241"], [(56, "Item"), (800, "Price")],
                         [("Nova Chromebook 13", "$329.00")], [("Total", "$329.00")], "Paid with Visa ending 4242")
    return image


@pytest.mark.parametrize("how", ocr.DEGRADATIONS[1:])
def test_every_degradation_changes_the_picture(how):
    clean_bytes, _ = ocr.degrade(picture(), "clean")
    clean = np.asarray(Image.open(io.BytesIO(clean_bytes)).convert("L"), dtype=np.int16)
    data, filename = ocr.degrade(picture(), how)
    changed = Image.open(io.BytesIO(data))
    assert changed.format == ("JPEG" if "JPEG" in how or how == "all three" else "PNG")
    assert filename.endswith(".jpg" if changed.format == "JPEG" else ".png")
    if "rotated" in how or how == "all three":
        assert changed.size != picture().size
    else:
        pixels = np.asarray(changed.convert("L"), dtype=np.int16)
        assert pixels.shape == clean.shape
        assert np.abs(pixels - clean).mean() > 0.2


def test_clean_picture_is_lossless():
    data, filename = ocr.degrade(picture(), "clean")
    assert filename == "page.png"
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data)).convert("RGB")), np.asarray(picture()))


def test_ocr_material_has_references_with_the_pack_codes():
    screens = ocr.screens()
    documents = ocr.documents()
    assert len(screens) + len(documents) >= 20
    assert all(any("(BW-" in line for line in reference) for _, _, reference, _ in screens)
    assert any("BW-723241" in " ".join(reference) for _, _, reference in documents)
    assert len({name for name, *_ in screens} | {name for name, *_ in documents}) == len(screens) + len(documents)


def test_fields_found_counts_codes_and_amounts_verbatim():
    reference = "Order BW-723241\nTotal $418.00\nInvoice INV-2026-004417"
    assert ocr.fields_found(reference, "Order BW-723241 Total $418.00 Invoice INV-2026-004417") == (3, 3)
    assert ocr.fields_found(reference, "Order BW-72324l Total $418.00\nInvoice") == (1, 3)


def box_line(text, x, y, width=100, height=20):
    return {"text": text, "box": {"x": x, "y": y, "width": width, "height": height}}


def test_layout_order_puts_a_table_read_column_by_column_back_in_rows():
    column_wise = [box_line("Item", 50, 100), box_line("Laptop", 50, 150), box_line("Price", 700, 102),
                   box_line("$899.00", 700, 148)]
    assert ocr.layout_order(column_wise) == "Item Price\nLaptop $899.00"
    assert ocr.layout_order([]) == ""


def test_layout_order_levels_a_known_rotation():
    import math
    lift = math.tan(math.radians(3)) * 650  # the right column sits this much higher after rotate(3)
    rotated = [box_line("Item", 0, 100), box_line("Laptop", 0, 150), box_line("Price", 650, 100 - lift),
               box_line("$899.00", 650, 150 - lift)]
    assert ocr.layout_order(rotated, 3.0) == "Item Price\nLaptop $899.00"
    assert ocr.layout_order(rotated, 0.0) != "Item Price\nLaptop $899.00"


def test_openai_whisper_subset_has_every_voice():
    clips = [{"index": i, "voice": speech.VOICES[i % len(speech.VOICES)]} for i in range(111)]
    chosen = speech.subset(clips, 4)
    assert 25 <= len(chosen) <= 32
    assert {c["voice"] for c in chosen} == set(speech.VOICES)
    assert speech.subset(clips, 1) == clips
