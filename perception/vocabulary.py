"""The company's words for speech recognition: a short glossary built from the company pack.

Whisper writes what it heard in the words it expects; a prompt of the company's device words,
product names, error codes and order-number spelling, written as one sentence a customer could
say, makes "router", "E12", "BW-T07" and "BW-276211" likelier than "brother", "Errico D12" or
"BW 276211". The speech engines build the glossary once at start-up (`glossary(options, count_tokens)`) from the pack's files
(products.csv, error_codes.csv, pack.yml, read by knowledge.pack: pure Python, no Rasa), so a
company that changes its pack changes what is recognised without code changes.

Options (perception/config.yml, `tasks.transcribe.options.vocabulary`):
  enabled     false: no biasing at all
  pack        the pack folder (default: COMPANY_DIR, else packs/brightwave)
  sources     what goes in, most important first: devices (the last word of product names, the
              categories), codes (one error code per spelling, and the codes screens show beside
              them), order_numbers (the pack's order number example), products (brands, names;
              not by default: names that sound like common words pull those words to them)
  max_tokens  the glossary stops before this many Whisper tokens (its prompt holds 223)
  as          hotwords (faster-whisper: in front of every 30 s window) or initial_prompt
  min_speech_s  shorter speech (Silero VAD) is decoded without the glossary: a "yes" gains nothing
              from it, and a short clip is where Whisper echoes a prompt instead of the words
"""
import re
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from knowledge.pack import CompanyPack

SOURCES = ("devices", "codes", "order_numbers", "products")
MODES = ("hotwords", "initial_prompt")
PROMPT_LIMIT = 223  # Whisper's prompt: half of its 448-token context, less <|startofprev|>
DEFAULTS: Dict[str, Any] = {"enabled": True, "pack": None, "sources": ["devices", "codes", "order_numbers"],
                            "max_tokens": 200,
                            "as": "hotwords", "min_speech_s": 1.5}


def settings(options: Optional[Dict[str, Any]]) -> Dict[str, Any]:
    """The vocabulary options with defaults, checked (a wrong value stops start-up)."""
    chosen = {**DEFAULTS, **(options or {})}
    unknown = set(chosen) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown vocabulary option(s): {', '.join(sorted(unknown))}")
    wrong = [source for source in chosen["sources"] if source not in SOURCES]
    if wrong:
        raise ValueError(f"unknown vocabulary source(s) {wrong} (known: {', '.join(SOURCES)})")
    if chosen["as"] not in MODES:
        raise ValueError(f"vocabulary 'as' must be one of {', '.join(MODES)}, not {chosen['as']!r}")
    if not 1 <= int(chosen["max_tokens"]) <= PROMPT_LIMIT:
        raise ValueError(f"vocabulary max_tokens must be 1..{PROMPT_LIMIT}")
    if float(chosen["min_speech_s"]) < 0:
        raise ValueError("vocabulary min_speech_s must be 0 or more")
    return chosen


def _unique(words: Iterable[str]) -> List[str]:
    seen, kept = set(), []
    for word in words:
        word = " ".join(word.split())
        if word and word.lower() not in seen:
            seen.add(word.lower())
            kept.append(word)
    return kept


def _plain_name(name: str) -> str:
    """A product name as said: without what is in brackets ("Mesh Router (2-pack)")."""
    return re.sub(r"\s*\([^)]*\)", "", name).strip()


def _device_word(word: str) -> str:
    return word if word.isupper() else word.lower()  # "TV" stays, "Router" -> "router"


def _one_per_shape(codes: Iterable[str]) -> List[str]:
    """The first code of each spelling: BW-1001 stands for BW-1002..BW-5004 (digits alike),
    BW-R01, BW-S12 and E12 each for themselves. Whisper learns the spelling from one example."""
    shapes, kept = set(), []
    for code in codes:
        shape = re.sub(r"\d", "9", code)
        if shape not in shapes:
            shapes.add(shape)
            kept.append(code)
    return kept


def groups(pack: CompanyPack, sources: Iterable[str] = SOURCES) -> List[Tuple[str, List[str]]]:
    """(source, its terms) in the order given, no term twice."""
    found: List[Tuple[str, List[str]]] = []
    for source in sources:
        if source == "devices":  # the last word of each product's name, then the catalogue categories
            words = [_device_word(words[-1]) for words in
                     (re.findall(r"[A-Za-z]+", _plain_name(p.name)) for p in pack.products) if words]
            words += [_device_word(p.category.replace("-", " ")) for p in pack.products if p.category]
        elif source == "codes":  # one code of each spelling, and what screens show beside them
            words = _one_per_shape(c for code in pack.error_codes for c in (code.code, *code.aliases))
        elif source == "order_numbers":
            example = str(pack.settings["orders"].get("id_example") or "").strip()
            words = [example] if example else []
        elif source == "products":  # brands first, then names without a brand in front
            brands = _unique(p.brand for p in pack.products if p.brand)
            words = list(brands)
            for product in pack.products:
                name = _plain_name(product.name)
                for brand in brands:
                    name = re.sub(rf"^{re.escape(brand)}\s+", "", name)
                words.append(name)
        else:
            raise ValueError(f"unknown vocabulary source {source!r}")
        seen = {term.lower() for _, terms in found for term in terms}
        found.append((source, [w for w in _unique(words) if w.lower() not in seen]))
    return found


def terms(pack: CompanyPack, sources: Iterable[str] = SOURCES) -> List[str]:
    """The glossary's terms from the pack, source by source in the order given, no repeats."""
    return [term for _, found in groups(pack, sources) for term in found]


def _either(words: List[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def sentence(company: str, chosen: List[Tuple[str, List[str]]]) -> str:
    """The terms said the way a customer would: "Brightwave support: my laptop, router or TV shows
    error BW-1001, BW-R01 or E12; order BW-123456." A bare comma-separated list made Whisper spell
    ordinary speech in its style ("Do you ship to Canada?" came back "BW-Ship, Canada", "the
    earbuds won't charge" as "L-E-B-W-T-Charge"); the same words in a sentence did not."""
    said = {"devices": "my {}", "codes": "error {}", "order_numbers": "order {}", "products": "products: {}"}
    text, last = "", None
    for source, words in chosen:
        if not words:
            continue
        part = said[source].format(_either(words) if source != "products" else ", ".join(words))
        text += ("" if last is None else " shows " if (last, source) == ("devices", "codes") else "; ") + part
        last = source
    return f"{company} support: {text}." if text else ""


def fit(company: str, found: List[Tuple[str, List[str]]], count_tokens: Callable[[str], int],
        max_tokens: int) -> str:
    """The sentence with as many terms as fit in max_tokens, taken in their order."""
    kept: List[Tuple[str, List[str]]] = []
    for source, words in found:
        kept.append((source, []))
        for word in words:
            kept[-1][1].append(word)
            if count_tokens(" " + sentence(company, kept)) > max_tokens:
                kept[-1][1].pop()
                return sentence(company, kept)
    return sentence(company, kept)


def glossary(options: Optional[Dict[str, Any]], count_tokens: Callable[[str], int]) -> Optional[str]:
    """The prompt text for the speech engine, or None when the vocabulary is off or empty."""
    chosen = settings(options)
    if not chosen["enabled"]:
        return None
    pack = CompanyPack.load(chosen["pack"])
    name = str(pack.settings["company"].get("name") or "").split()  # pack.yml or DEFAULT_SETTINGS
    company = name[0] if name else "Customer"  # "Brightwave Electronics" -> "Brightwave"
    return fit(company, groups(pack, chosen["sources"]), count_tokens, int(chosen["max_tokens"])) or None
