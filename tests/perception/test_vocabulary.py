"""The company's words for speech recognition (perception/vocabulary.py): built from the pack's
files, so a changed pack changes what Whisper is told; ordered and cut to the token budget.
Pure Python (the pack is read by knowledge.pack); the recognition itself is tested in
test_transcribe.py against the real service."""
import csv
import re
import shutil
from pathlib import Path

import pytest

from knowledge.pack import CompanyPack
from perception import vocabulary
from tests import services

PACK = services.ROOT / "packs" / "brightwave"


def tokens(text: str) -> int:
    """A stand-in for Whisper's tokenizer: words and punctuation marks."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def rows(path: Path):
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        return reader.fieldnames, list(reader)


def write(path: Path, fields, found) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(found)


@pytest.fixture
def other_pack(tmp_path) -> Path:
    """The reference pack with its routers and router codes replaced by a soundbar and its code."""
    pack = tmp_path / "acme"
    shutil.copytree(PACK, pack)
    fields, products = rows(pack / "products.csv")
    products = [p for p in products if p["category"] != "networking"]
    products.append({**products[0], "sku": "AC-SB-0001", "name": "Acme Zephyr Soundbar", "category": "audio",
                     "brand": "Acme"})
    write(pack / "products.csv", fields, products)
    fields, codes = rows(pack / "error_codes.csv")
    codes = [c for c in codes if "Router" not in c["where"]]
    codes.append({**codes[0], "code": "AC-Z42", "where": "Acme Zephyr Soundbar",
                  "screen_text": "Display shows Q7 (AC-Z42)"})
    write(pack / "error_codes.csv", fields, codes)
    yml = (pack / "pack.yml").read_text(encoding="utf-8").replace("id_example: BW-123456", "id_example: AC-55555")
    (pack / "pack.yml").write_text(yml, encoding="utf-8")
    return pack


def said(prompt: str) -> set:
    """The glossary's terms: the words between its commas, "or", "my", "error", ";" and ":"."""
    body = prompt.split(":", 1)[1].rstrip(".")
    return {term.strip() for term in re.split(r",|;| or | shows |\bmy\b|\berror\b|\border\b|products:", body)
            if term.strip()}


def test_reference_pack_gives_the_company_words():
    prompt = vocabulary.glossary({"max_tokens": 223, "sources": list(vocabulary.SOURCES)}, tokens)
    assert prompt.startswith("Brightwave support: my laptop, ")  # a sentence, not a bare list
    terms = said(prompt)
    for word in ("router", "TV", "earbuds", "smartwatch", "laptop"):  # device words and categories
        assert word in terms, prompt
    assert {"BW-1001", "BW-R01", "BW-S12", "E12"} <= terms  # codes, and E12 beside BW-S12
    assert "shows error BW-1001, BW-R01" in prompt
    assert "BW-1002" not in terms  # one code per spelling
    assert "; order BW-123456" in prompt  # how order numbers are written
    assert "Brightwave" in terms and "Aero 14 Laptop" in terms  # brands, names without the brand
    assert tokens(" " + prompt) <= 223


def test_a_changed_pack_changes_the_vocabulary(other_pack):
    every = {"max_tokens": 223, "sources": list(vocabulary.SOURCES)}
    ours = said(vocabulary.glossary(every, tokens))
    theirs = said(vocabulary.glossary({**every, "pack": str(other_pack)}, tokens))
    assert {"soundbar", "audio", "AC-Z42", "Q7", "AC-55555", "Acme", "Zephyr Soundbar"} <= theirs, theirs
    assert "router" not in theirs and "BW-R01" not in theirs and "BW-123456" not in theirs
    assert "router" in ours and "soundbar" not in ours


def test_pack_follows_company_dir(other_pack, monkeypatch):
    monkeypatch.setenv("COMPANY_DIR", str(other_pack))
    assert "AC-Z42" in said(vocabulary.glossary({}, tokens))


def test_sources_order_and_budget():
    pack = CompanyPack.load(PACK)
    pack_terms = vocabulary.terms(pack, ["codes", "devices"])
    assert pack_terms[0] == "BW-1001" and pack_terms.index("E12") < pack_terms.index("router")
    found = [("devices", ["a b", "c d", "e f"])]
    assert vocabulary.fit("X", found, tokens, 10) == "X support: my a b or c d."  # 10 tokens: e f is cut
    short = vocabulary.glossary({"max_tokens": 20}, tokens)
    assert tokens(" " + short) <= 20 and short.startswith("Brightwave support: my laptop")  # devices first
    only_codes = vocabulary.glossary({"sources": ["codes"], "max_tokens": 223}, tokens)
    assert "router" not in only_codes and "error BW-1001" in only_codes and "BW-R01" in only_codes


def test_off_gives_no_prompt_and_wrong_options_are_refused():
    assert vocabulary.glossary({"enabled": False}, tokens) is None
    for wrong in ({"sources": ["codes", "colours"]}, {"as": "prefix"}, {"max_tokens": 500}, {"colour": 1},
                  {"min_speech_s": -1}):
        with pytest.raises(ValueError):
            vocabulary.glossary(wrong, tokens)
    with pytest.raises(FileNotFoundError):
        vocabulary.glossary({"pack": "/nonexistent/pack"}, tokens)


def test_shipped_config_keeps_it_off_with_the_default_sources():
    import yaml

    config = yaml.safe_load((services.ROOT / "perception" / "config.yml").read_text())
    options = config["tasks"]["transcribe"]["options"].get("vocabulary")
    chosen = vocabulary.settings(options)
    assert not chosen["enabled"] and chosen["as"] == "hotwords" and chosen["min_speech_s"] > 0
    assert vocabulary.glossary(options, tokens) is None
    assert vocabulary.glossary({**options, "enabled": True}, tokens) == vocabulary.glossary(
        {"max_tokens": 223, "sources": ["devices", "codes", "order_numbers"]}, tokens)  # the default sources


def test_a_pack_without_a_company_name_still_gets_a_sentence(other_pack):
    import yaml

    settings = yaml.safe_load((other_pack / "pack.yml").read_text(encoding="utf-8"))
    settings.setdefault("company", {})["name"] = ""
    (other_pack / "pack.yml").write_text(yaml.safe_dump(settings), encoding="utf-8")
    prompt = vocabulary.glossary({"pack": str(other_pack)}, tokens)
    assert prompt.startswith("Customer support: my ") and "AC-Z42" in prompt
