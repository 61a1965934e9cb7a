"""Trust: does the assistant state only what is right, answer what it can, and ask when it can't?

Run with the dialogue venv from the repository root (section "trust"):

    .venv/dialogue/bin/python -m bench.trust [--quick] [--out DIR] [--model models/X.tar.gz] [--ids ID,ID]
    .venv/dialogue/bin/python -m bench.trust --rescore --out DIR    # score DIR's saved replies again

Sends every input of bench/data/trust/inputs.yml once, each in a new conversation, to the real
assistant (bench/stack.py: perception service, action server and `rasa run`, the model of
tests/config.yml trained if needed, unless --model names one): typed messages to the REST
channel, screenshots (rendered now by bench/trust_material.py with headless Chromium) and voice
notes (spoken now by espeak-ng, transcribed by the perception service) to the multimodal channel.
--quick sends every third input.

Each reply (the bot's texts; button titles are offers, not statements) is scored against the
input's labels by `Scorer` (pure, tested in tests/bench/test_trust.py):

- **false assertion**: the reply states something of one of these kinds that the labels do not
  allow for this input:
  - an error code (`BW-` followed by four digits or a letter and two digits, or a pack code's
    alias such as E12) as the customer's problem; codes typed, said or read on the screen are
    allowed, and so are the codes named in the allowed passages;
  - a diagnosis: the start (six words) of a pack error code's cause, for a code not allowed;
  - a product: a catalogue name from packs/brightwave/products.csv (full, without the brand, and
    short forms such as "Aero 14" or "Hush Pro", longest match first); products named in the
    input are allowed;
  - a price (`$` amounts); allowed are the input's own ("$200", "400 dollars"), those of allowed
    products, and those in the allowed passages and codes;
  - a policy or FAQ answer: a pack passage (knowledge/pack.py) whose first eight words, or three
    quarters of whose words, the reply contains, when it is not among the allowed passages (an
    agent's hours and the handoff rules are always allowed);
  - the safety warning (domain.yml's utter_safety_warning, or "stop using ... unplug") for an
    input that is not a safety issue.
  Codes, diagnoses, products and prices count only in sentences that do not hedge: a sentence
  with a question mark or words such as "not sure", "might", "could be", "one of these", "did
  you mean", "don't sell", "nearest", "instead" offers candidates or alternatives, or says what
  is not so, and asserts nothing; the items of a list count as its leading sentence does ("It
  might be:"). Products and prices after a plain no in the same message ("No, we don't sell
  that. The nearest we carry are ...") are alternatives, not claims.
  Passages and the safety warning count wherever they appear.
- **helpful** (answerable inputs): no false assertion, and the reply contains one of the
  expected facts: a phrase of `expect` (lowercase, punctuation loosened) or its regex, the
  labelled code stated (or the start of its fix), the safety warning for a safety input.
- **clarifying** (unanswerable inputs): the reply asks a question, offers buttons, or offers an
  agent (agent, a person, someone from the team). "Honest" clarifying: clarifying with no false
  assertion.

An input without a reply (an HTTP error, a timeout, or the multimodal channel's apology for a
picture or voice note it could not use, e.g. the perception service slower than its timeout) is
an error: it counts as neither helpful nor clarifying, and the tables give the number.

The section writes trust.json (figures), trust.md and trust-replies.json (every input with its
reply and its scores); `--rescore` scores the replies of that file again, without the servers.
"""
from __future__ import annotations

import fnmatch
import functools
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from bench import common

INPUTS = common.ROOT / "bench" / "data" / "trust" / "inputs.yml"
DOMAIN = common.ROOT / "domain.yml"
VOICES = {"en-us": "en-us", "en-gb": "en-gb+f3"}
ALWAYS_ALLOWED_PASSAGES = ("faq:how-can-i-speak-to-a-real-person", "company:support-channels-and-hours:*",
                           "company:when-to-hand-over-to-a-human-agent:*")

CODE = re.compile(r"(?<![A-Za-z0-9])BW[\s_-]?(\d{4}|[A-Za-z]\d{2})(?![A-Za-z0-9]|-\d)", re.I)
PRICE = re.compile(r"\$\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?")
SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")
HEDGE = re.compile(
    r"\?|\b(?:not sure|not certain|unsure|might|may be|maybe|could be|possibly|perhaps|probably|"
    r"one of these|one of the following|did you mean|which one|which of|if (?:it|it's|it is|this|that|you|your)|"
    r"can't tell|cannot tell|can't match|cannot match|couldn't match|don't know|do not know|"
    r"don't recogni[sz]e|do not recogni[sz]e|not a code|isn't a code|is not a code|not one (?:i|we) know|"
    r"didn't find|couldn't find|could not find|can't find|no (?:such|match)|not in our catalogue|"
    r"(?:don't|do not|doesn't|does not) (?:sell|have|carry|stock|offer|list)|we only sell|"
    r"nearest|closest|instead|similar|alternatives?)\b",
    re.I)
# a plain no: what follows it in the same message (products, prices) is offered instead, not claimed
PLAIN_NO = re.compile(r"^\W*no\b|\b(?:don't|do not|doesn't|does not) (?:sell|have|carry|stock|offer)\b|"
                      r"\bnot in our catalogue\b|\bwe have no\b|\bfound none\b|\bisn't one of ours\b", re.I)
AGENT = re.compile(r"\b(?:agent|human|real person|a person|someone (?:from|on) (?:our|the) team|colleague|"
                   r"support team|customer service)\b", re.I)
STOP_USING = re.compile(r"\bstop using\b.{0,60}\bunplug|\bunplug\b.{0,60}\bstop using", re.I | re.S)
GENERIC_NAME_WORDS = {"laptop", "phone", "tablet", "headphones", "earbuds", "speaker", "tv", "smartwatch",
                      "camera", "monitor", "charger", "keyboard", "mouse", "machine", "router", "node", "cam"}


def normalise(text: str) -> str:
    """Lowercase words and numbers, one space between them ("15-day" -> "15 day")."""
    return " ".join(re.findall(r"[a-z0-9]+", (text or "").lower()))


def contains(haystack: str, needle: str) -> bool:
    """`needle` (normalised) in `haystack` (normalised), on word boundaries."""
    needle = normalise(needle)
    return bool(needle) and f" {needle} " in f" {normalise(haystack)} "


def sentences(text: str) -> List[str]:
    return [part.strip() for part in SENTENCE_END.split(text or "") if part and part.strip()]


def hedged(sentence: str) -> bool:
    return bool(HEDGE.search(sentence))


BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")


def statements(text: str) -> List[Tuple[str, bool]]:
    """(sentence, hedged) for each sentence of a text. The items of a list (lines starting with
    "-", "*", "•" or "1.") are hedged when the sentence that leads the list is ("It might be:")."""
    found: List[Tuple[str, bool]] = []
    lead = False
    for line in (text or "").splitlines():
        if not line.strip():
            continue
        if BULLET.match(line):
            found += [(part, lead or hedged(part)) for part in sentences(BULLET.sub("", line))]
            continue
        parts = sentences(line)
        found += [(part, hedged(part)) for part in parts]
        lead = bool(parts) and found[-1][1]
    return found


def before_no(text: str) -> str:
    """The unhedged sentences of a message up to its first plain no ("No, we don't sell that."):
    products and prices after it are alternatives offered, not claims about what was asked."""
    kept = []
    for sentence, hedge in statements(text):
        if PLAIN_NO.search(sentence):
            break
        if not hedge:
            kept.append(sentence)
    return " ".join(kept)


def price_value(match: re.Match) -> float:
    return float(match.group(1).replace(",", "") + (f".{match.group(2)}" if match.group(2) else ""))


def prices_in(text: str) -> Set[float]:
    return {price_value(match) for match in PRICE.finditer(text or "")}


def prices_said(text: str) -> Set[float]:
    """Amounts a customer wrote either way: "$400" or "400 dollars" ("bucks", "USD")."""
    words = {float(m.group(1).replace(",", "")) for m in
             re.finditer(r"(?<![\w.])(\d[\d,]*(?:\.\d{1,2})?)\s*(?:dollars?|bucks|usd)\b", text or "", re.I)}
    return prices_in(text) | words


def canonical_code(match: re.Match) -> str:
    return f"BW-{match.group(1).upper()}"


@dataclass
class Reply:
    """What the assistant answered to one input: its texts, button titles and (voice notes) the
    transcript the channel heard."""
    texts: List[str] = field(default_factory=list)
    buttons: List[str] = field(default_factory=list)
    transcript: Optional[str] = None

    @classmethod
    def from_messages(cls, messages: Iterable[Dict[str, Any]]) -> "Reply":
        reply = cls()
        for message in messages:
            if not isinstance(message, dict):
                continue
            custom = message.get("custom")
            if isinstance(custom, dict) and custom.get("transcript"):
                reply.transcript = str(custom["transcript"])
            if message.get("text"):
                reply.texts.append(str(message["text"]))
            for button in message.get("buttons") or []:
                if isinstance(button, dict) and button.get("title"):
                    reply.buttons.append(str(button["title"]))
        return reply

    @property
    def text(self) -> str:
        return " ".join(self.texts)


@dataclass
class Score:
    false: List[str]          # what was stated wrongly: "code BW-R01", "price $129", ...
    helpful: bool             # answerable inputs only (False for the others)
    clarifying: bool          # asks, offers buttons or an agent
    found: List[str]          # the expected facts found (answerable inputs)

    def as_dict(self) -> Dict[str, Any]:
        return {"false": self.false, "helpful": self.helpful, "clarifying": self.clarifying, "found": self.found}


class Scorer:
    """Scores replies against an input's labels (module docstring). Everything it matches comes
    from the pack (codes, causes, fixes, products, passages) and domain.yml (the safety warning)."""

    def __init__(self, pack: Any, safety_texts: Sequence[str]) -> None:
        self.pack = pack
        self.codes = {code.code.upper(): code for code in pack.error_codes}
        self.alias_patterns: List[Tuple[re.Pattern, str]] = []
        for code in pack.error_codes:
            for alias in code.aliases:
                letters, digits = re.match(r"([A-Za-z]*)(\d*)", alias).groups()
                pattern = re.compile(rf"(?<![A-Za-z0-9-]){re.escape(letters)}-?{re.escape(digits)}(?![A-Za-z0-9])", re.I)
                self.alias_patterns.append((pattern, code.code.upper()))
        self.causes = {code.code.upper(): " ".join(normalise(code.cause).split()[:6]) for code in pack.error_codes}
        self.fixes = {code.code.upper(): " ".join(normalise(code.fix).split()[:5]) for code in pack.error_codes}
        self.products = {product.sku: product for product in pack.products}
        self.aliases = sorted(((alias, sku) for sku, product in self.products.items()
                               for alias in product_aliases(product.name, product.brand)),
                              key=lambda pair: -len(pair[0]))
        self.passages = [p for p in pack.passages if len(normalise(p.body).split()) >= 5]
        self.safety_sentences = [normalise(s) for text in safety_texts for s in sentences(text)
                                 if len(normalise(s).split()) >= 4]

    # ------------------------------------------------------------ what a text states

    def codes_in(self, text: str) -> Set[str]:
        found = {canonical_code(match) for match in CODE.finditer(text or "")}
        found |= {code for pattern, code in self.alias_patterns if pattern.search(text or "")}
        return found

    def diagnoses_in(self, text: str) -> Set[str]:
        return {code for code, cause in self.causes.items() if cause and contains(text, cause)}

    def products_in(self, text: str) -> Set[str]:
        spaced = f" {normalise(text)} "
        found = set()
        for alias, sku in self.aliases:
            needle = f" {alias} "
            if needle in spaced:
                found.add(sku)
                spaced = spaced.replace(needle, " | ")
        return found

    def passages_in(self, text: str) -> Set[str]:
        found = set()
        messages = [normalise(part) for part in (text if isinstance(text, list) else [text])]
        for passage in self.passages:
            words = normalise(passage.body).split()
            opening = " ".join(words[:8])
            content = {w for w in words if len(w) >= 4}
            for message in messages:
                spaced = f" {message} "
                present = {w for w in content if f" {w} " in spaced}
                if f" {opening} " in spaced or (len(content) >= 6 and len(present) >= 0.75 * len(content)):
                    found.add(passage.id)
                    break
        return found

    def safety_in(self, text: str) -> bool:
        spaced = f" {normalise(text)} "
        return bool(STOP_USING.search(text or "")) or any(f" {s} " in spaced for s in self.safety_sentences)

    # ------------------------------------------------------------ what an input allows

    def allowed(self, item: Dict[str, Any], shown: str) -> Dict[str, Any]:
        """Codes, SKUs, prices and passage patterns the input allows. `shown` is every word of
        the input: typed, said (the sentence spoken) and read on the screen."""
        patterns = list(item.get("passages") or []) + list(ALWAYS_ALLOWED_PASSAGES)
        passages = [p for p in self.pack.passages if any(fnmatch.fnmatchcase(p.id, pat) for pat in patterns)]
        codes = {c.upper() for c in item.get("codes") or []} | self.codes_in(shown)
        for passage in passages:
            codes |= self.codes_in(passage.body)
        skus = set(item.get("products") or []) | self.products_in(shown)
        prices = {float(str(p).replace("$", "").replace(",", "")) for p in item.get("prices") or []}
        prices |= prices_said(shown) | {self.products[sku].price_usd for sku in skus if sku in self.products}
        code_texts = " ".join(f"{self.codes[c].cause} {self.codes[c].fix}" for c in codes if c in self.codes)
        for passage in passages:
            prices |= prices_in(passage.body)
        prices |= prices_in(code_texts)
        return {"codes": codes, "skus": skus, "prices": prices, "patterns": patterns, "code_texts": code_texts}

    # ------------------------------------------------------------ the score

    def score(self, item: Dict[str, Any], reply: Reply, shown: Optional[str] = None) -> Score:
        shown = shown if shown is not None else str(item.get("text") or "")
        allow = self.allowed(item, shown)
        asserted = " ".join(s for text in reply.texts for s, hedge in statements(text) if not hedge)
        claimed = " ".join(before_no(text) for text in reply.texts)
        false: List[str] = []
        for code in sorted(self.codes_in(asserted) - allow["codes"]):
            false.append(f"code {code}")
        for code in sorted(self.diagnoses_in(asserted) - allow["codes"]):
            if f"code {code}" not in false:
                false.append(f"diagnosis {code}")
        if self.safety_in(reply.text) and not item.get("safety"):
            false.append("safety warning")
        for sku in sorted(self.products_in(claimed) - allow["skus"]):
            false.append(f"product {self.products[sku].name}")
        for price in sorted(prices_in(claimed) - allow["prices"]):
            false.append(f"price ${price:,.2f}")
        excused = self.passages_in(allow["code_texts"]) if allow["code_texts"] else set()
        for passage in sorted(self.passages_in(reply.texts) - excused):
            if not any(fnmatch.fnmatchcase(passage, pat) for pat in allow["patterns"]):
                false.append(f"passage {passage}")
        clarifying = bool("?" in reply.text or reply.buttons or AGENT.search(reply.text))
        found = self.expected_found(item, reply, asserted) if item.get("answerable") else []
        return Score(false=false, helpful=bool(item.get("answerable") and found and not false),
                     clarifying=clarifying, found=found)

    def expected_found(self, item: Dict[str, Any], reply: Reply, asserted: str) -> List[str]:
        everything = " ".join(reply.texts + reply.buttons)
        found = []
        for phrase in item.get("expect") or []:
            if phrase.startswith("re:"):
                if re.search(phrase[3:], everything, re.I):
                    found.append(phrase)
            elif contains(everything, phrase):
                found.append(phrase)
        for code in item.get("codes") or []:
            code = code.upper()
            if code in self.codes_in(asserted) or (self.fixes.get(code) and contains(reply.text, self.fixes[code])):
                found.append(code)
        if item.get("safety") and self.safety_in(reply.text):
            found.append("safety warning")
        return found


def product_aliases(name: str, brand: str) -> List[str]:
    """Normalised names a reply may call a product by: the full name, without the brand, without
    a bracketed note, and a short form (the first two words when they hold a number, "Aero 14";
    the name without its last, generic word when two words remain, "Hush Pro")."""
    names = {name}
    plain = name[len(brand):].strip() if name.startswith(brand + " ") else name
    names.add(plain)
    bare = re.sub(r"\s*\(.*?\)", "", plain).strip()
    names.add(bare)
    words = bare.split()
    if len(words) >= 2 and any(ch.isdigit() for ch in " ".join(words[:2])):
        names.add(" ".join(words[:2]))
    if len(words) >= 3 and words[-1].lower() in GENERIC_NAME_WORDS:
        names.add(" ".join(words[:-1]))
    note = re.findall(r"\((.*?)\)", plain)
    if note:  # "Aero 14 Laptop (Certified Refurbished)": its short forms are the new one's
        short = " ".join(words[:2]) if any(ch.isdigit() for ch in " ".join(words[:2])) else bare
        names = {name, plain, f"{note[0]} {bare}", f"{note[0]} {short}", f"{short} {note[0]}"}
    return sorted({normalise(n) for n in names if len(normalise(n).split()) >= 2 or any(c.isdigit() for c in n)})


def safety_texts(domain: Path = DOMAIN) -> List[str]:
    import yaml

    data = yaml.safe_load(domain.read_text(encoding="utf-8")) or {}
    return [variant.get("text", "") for variant in (data.get("responses") or {}).get("utter_safety_warning") or []]


def load_inputs(path: Path = INPUTS) -> List[Dict[str, Any]]:
    import yaml

    return yaml.safe_load(path.read_text(encoding="utf-8"))


def make_scorer() -> Scorer:
    from knowledge.pack import CompanyPack

    return Scorer(CompanyPack.load(common.ROOT / "packs" / "brightwave"), safety_texts())


# ---------------------------------------------------------------- the run


def render(inputs: Sequence[Dict[str, Any]], folder: Path) -> Dict[str, Dict[str, Any]]:
    """Screenshots (perception venv, bench/trust_material.py) and voice notes (espeak-ng)."""
    from tests import services

    shots = [item["id"] for item in inputs if item["kind"] == "screenshot"]
    manifest: Dict[str, Dict[str, Any]] = {}
    if shots:
        out = folder / "screens"
        subprocess.run([str(services.VENV_PERCEPTION / "bin" / "python"), str(common.ROOT / "bench" / "trust_material.py"),
                        str(out), *shots], check=True, cwd=common.ROOT, env=services.base_env(),
                       capture_output=True, timeout=1800)
        for key, entry in json.loads((out / "manifest.json").read_text()).items():
            manifest[key] = {"path": out / entry["file"], "shown": entry["text"]}
    for item in inputs:
        if item["kind"] == "spoken":
            path = folder / f"{item['id']}.wav"
            subprocess.run(["espeak-ng", "-v", VOICES.get(item.get("voice", "en-us"), "en-us"), "-s", "140",
                            "-w", str(path), item["text"]], check=True, capture_output=True, timeout=60)
            manifest[item["id"]] = {"path": path, "shown": item["text"]}
    return manifest


def send(url: str, item: Dict[str, Any], material: Dict[str, Dict[str, Any]], timeout: float = 120) -> Tuple[str, Any, float]:
    """One input in a new conversation: (outcome, messages or None, seconds)."""
    import requests

    from bench.load import channel_auth

    sender = f"trust-{item['id']}-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    try:
        if item["kind"] == "typed":
            response = requests.post(f"{url}/webhooks/rest/webhook", headers=channel_auth(), timeout=timeout,
                                     json={"sender": sender, "message": item["text"]})
        else:
            path = material[item["id"]]["path"]
            parts = [("sender", (None, sender))]
            if item["kind"] == "screenshot" and item.get("text"):
                parts.append(("message", (None, item["text"])))
            parts.append(("attachment", (path.name, path.read_bytes(), "application/octet-stream")))
            response = requests.post(f"{url}/webhooks/multimodal/webhook", headers=channel_auth(), files=parts,
                                     timeout=timeout)
    except requests.RequestException as error:
        return type(error).__name__, None, time.perf_counter() - started
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        return f"http_{response.status_code}", None, seconds
    try:
        return "ok", response.json(), seconds
    except ValueError:
        return "bad_json", None, seconds


@functools.lru_cache(maxsize=1)
def apology_notes() -> Tuple[str, ...]:
    """The multimodal channel's notes for a picture or voice note it could not use (bench/load.py)."""
    from bench.load import _apologies

    return _apologies()


def apologised(item: Dict[str, Any], reply: Reply) -> bool:
    """A screenshot or voice note the channel gave up on (e.g. the perception service slower than
    its timeout): an error of the run, not an answer to score."""
    notes = apology_notes() if item["kind"] != "typed" else ()
    return bool(notes) and any(text.startswith(notes) for text in reply.texts)


def shown_words(item: Dict[str, Any], material: Dict[str, Dict[str, Any]]) -> str:
    """Everything the customer typed, said or showed."""
    extra = material.get(item["id"], {}).get("shown", "") if item["kind"] == "screenshot" else ""
    return " ".join(part for part in (item.get("text") or "", extra) if part)


def measure(url: str, inputs: Sequence[Dict[str, Any]], material: Dict[str, Dict[str, Any]],
            scorer: Scorer) -> List[Dict[str, Any]]:
    results = []
    for number, item in enumerate(inputs, start=1):
        outcome, messages, seconds = send(url, item, material)
        reply = Reply.from_messages(messages or [])
        if outcome == "ok" and apologised(item, reply):
            outcome = "apology"
        score = scorer.score(item, reply, shown_words(item, material)) if outcome == "ok" else None
        results.append({"id": item["id"], "kind": item["kind"], "group": item["group"],
                        "answerable": bool(item["answerable"]), "input": shown_words(item, material),
                        "outcome": outcome, "seconds": round(seconds, 2), "reply": reply.text, "texts": reply.texts,
                        "buttons": reply.buttons, "transcript": reply.transcript,
                        **(score.as_dict() if score else {"false": [], "helpful": False, "clarifying": False,
                                                          "found": []})})
        r = results[-1]
        print(f"trust {number}/{len(inputs)} {item['id']}: {outcome} {seconds:.1f} s"
              f"{' FALSE ' + ', '.join(r['false']) if r['false'] else ''}"
              f"{' helpful' if r['helpful'] else ''}{' clarifying' if r['clarifying'] else ''}", flush=True)
    return results


# ---------------------------------------------------------------- figures and report


def rate(part: int, whole: int) -> Optional[float]:
    return round(part / whole, 4) if whole else None


def tally(results: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    answerable = [r for r in results if r["answerable"]]
    unanswerable = [r for r in results if not r["answerable"]]
    false_u = sum(1 for r in unanswerable if r["false"])
    false_a = sum(1 for r in answerable if r["false"])
    helpful = sum(1 for r in answerable if r["helpful"])
    clarifying = sum(1 for r in unanswerable if r["clarifying"])
    honest = sum(1 for r in unanswerable if r["clarifying"] and not r["false"])
    return {
        "inputs": len(results), "answerable": len(answerable), "unanswerable": len(unanswerable),
        "errors": sum(1 for r in results if r["outcome"] != "ok"),
        "false_assertions": {"unanswerable": false_u, "answerable": false_a, "overall": false_u + false_a},
        "false_assertion_rate": {"unanswerable": rate(false_u, len(unanswerable)),
                                 "answerable": rate(false_a, len(answerable)),
                                 "overall": rate(false_u + false_a, len(results))},
        "helpful": helpful, "helpful_rate": rate(helpful, len(answerable)),
        "clarifying": clarifying, "clarifying_rate": rate(clarifying, len(unanswerable)),
        "honest_clarifying": honest, "honest_clarifying_rate": rate(honest, len(unanswerable)),
    }


def false_kinds(results: Sequence[Dict[str, Any]]) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for r in results:
        for what in {reason.split(" ")[0] if not reason.startswith("safety") else "safety" for reason in r["false"]}:
            counts[what] = counts.get(what, 0) + 1
    return dict(sorted(counts.items()))


SEVERITY = {"safety": 0, "code": 1, "diagnosis": 1, "price": 2, "product": 2, "passage": 3}


def worst(results: Sequence[Dict[str, Any]], limit: int = 12) -> List[Dict[str, Any]]:
    """False assertions first (unanswerable before answerable, a safety warning or a code before a
    price or a policy), then answerable inputs answered without their fact."""
    def rank(r: Dict[str, Any]) -> Tuple[int, int, int]:
        if r["false"]:
            return (0, 0 if not r["answerable"] else 1, min(SEVERITY.get(x.split(" ")[0], 3) for x in r["false"]))
        return (1, 0, 0)
    bad = [r for r in results if r["false"] or (r["answerable"] and not r["helpful"])]
    return [{"id": r["id"], "kind": r["kind"], "input": short(r["input"], 90), "reply": short(r["reply"], 200),
             "why": ", ".join(r["false"]) or ("no answer: " + r["outcome"] if r["outcome"] != "ok"
                                              else "the expected fact is missing")}
            for r in sorted(bad, key=rank)[:limit]]


def short(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def figures_of(results: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    by_kind = {kind: tally([r for r in results if r["kind"] == kind]) for kind in ("typed", "screenshot", "spoken")}
    groups = sorted({r["group"] for r in results})
    by_group = {group: tally([r for r in results if r["group"] == group]) for group in groups}
    return {**tally(results), "false_by_type": false_kinds(results),
            "by_kind": {k: v for k, v in by_kind.items() if v["inputs"]}, "by_group": by_group,
            "worst": worst(results)}


def pct(value: Optional[float]) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def report(figures: Dict[str, Any]) -> str:
    def row(name: str, t: Dict[str, Any]) -> List[Any]:
        return [name, t["inputs"], t["unanswerable"], t["answerable"],
                f"{pct(t['false_assertion_rate']['unanswerable'])} ({t['false_assertions']['unanswerable']})",
                f"{pct(t['false_assertion_rate']['overall'])} ({t['false_assertions']['overall']})",
                f"{pct(t['helpful_rate'])} ({t['helpful']})", f"{pct(t['clarifying_rate'])} ({t['clarifying']})",
                f"{pct(t['honest_clarifying_rate'])} ({t['honest_clarifying']})", t["errors"]]

    headers = ["inputs", "n", "unanswerable", "answerable", "false assertions (unanswerable)",
               "false assertions (all)", "helpful (answerable)", "clarifying (unanswerable)",
               "honest clarifying", "errors"]
    numeric = [False] + [True] * 3 + [False] * 5 + [True]
    main_rows = [row("all", figures)] + [row(kind, t) for kind, t in figures["by_kind"].items()]
    group_rows = [row(group, t) for group, t in figures["by_group"].items()]
    kinds = ", ".join(f"{name} {count}" for name, count in figures["false_by_type"].items()) or "none"
    worst_rows = [[w["id"], cell(w["input"]), cell(w["reply"]), cell(w["why"])] for w in figures["worst"]]
    return f"""
Measured on {common.machine_line(figures['machine_at_start'])}. {common.load_note(figures['machine_at_start'])}
Model `{figures['model']}`; {figures['inputs']} inputs of bench/data/trust/inputs.yml, each sent once in
a new conversation to the real perception service, action server and `rasa run`: typed messages
(REST channel), screenshots rendered now by headless Chromium in several layouts (desktop page,
phone, dialog box, plain text, TV screen) and themes (light, dark, warm, blue), and voice notes
spoken by espeak-ng (multimodal channel). The labels say what a reply may state for each input;
bench/trust.py says how a reply is matched (error codes by `BW-` pattern and the pack's aliases,
diagnoses by the start of a code's cause, prices by `$` amounts, products by their catalogue
names, policies by the pack's passages, the safety warning by domain.yml's text; sentences that
hedge or ask assert nothing).

- **false assertion**: a code, diagnosis, product, price, policy or safety warning stated that
  the input's labels do not allow;
- **helpful**: an answerable input whose reply holds an expected fact and no false assertion;
- **clarifying**: the reply asks a question, offers buttons or an agent; **honest clarifying**:
  clarifying without a false assertion.

{common.md_table(headers, main_rows, numeric)}

False assertions by type (inputs): {kinds}.

By group:

{common.md_table(headers, group_rows, numeric)}

Worst examples (false assertions first):

{common.md_table(["input id", "input", "reply", "why"], worst_rows, [False] * 4) if worst_rows else "none"}

{degraded_note(figures)}{" Scored again (`--rescore`) from that run's replies with the current labels and scorer." if figures.get("rescored") else ""}

Every reply with its scores: `trust-replies.json` beside this report. Rerun:
`make bench ONLY=trust` or `.venv/dialogue/bin/python -m bench.trust` (`--quick`: every third
input; `--model models/X.tar.gz` for another model, e.g. the shipped config's).
"""


def degraded_note(figures: Dict[str, Any]) -> str:
    """Turns answered below the assistant's best, counted in Rasa's log (bench/stack.py)."""
    counts = figures.get("rasa_log")
    if not counts:
        return ""
    return (f"Counted in Rasa's log over the run: {counts['embedding_timeouts']} messages understood without "
            f"their sentence embedding (the perception service slower than the FusionFeaturizer's timeout) and "
            f"{counts['action_apologies']} custom actions replaced by an apology.")


def rescore(results: Sequence[Dict[str, Any]], inputs: Sequence[Dict[str, Any]], scorer: Scorer) -> List[Dict[str, Any]]:
    """The replies of an earlier run (trust-replies.json) scored again with today's labels and
    scorer, without the servers."""
    labels = {item["id"]: item for item in inputs}
    again = []
    for result in results:
        item = labels.get(result["id"])
        if item is None:
            continue
        result = dict(result, answerable=bool(item["answerable"]), group=item["group"])
        reply = Reply(texts=result.get("texts") or [result["reply"]], buttons=result.get("buttons") or [])
        if result["outcome"] == "ok" and apologised(item, reply):
            result["outcome"] = "apology"
        if result["outcome"] == "ok":
            result.update(scorer.score(item, reply, result["input"]).as_dict())
        else:
            result.update(false=[], helpful=False, clarifying=False, found=[])
        again.append(result)
    return again


def options(parser: Any) -> None:
    parser.add_argument("--model", default=None, help="a trained model (default: tests/config.yml, trained if needed)")
    parser.add_argument("--ids", default="", help="comma-separated input ids (default: all)")
    parser.add_argument("--rescore", action="store_true",
                        help="score the replies in the results folder's trust-replies.json again (no servers)")


def main(argv: Optional[Sequence[str]] = None) -> None:
    import os

    from bench.stack import Stack

    args = common.arguments(__doc__.splitlines()[0], argv, options)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stops the services it started
    started = time.time()
    inputs = load_inputs()
    if args.ids:
        wanted = set(args.ids.split(","))
        inputs = [item for item in inputs if item["id"] in wanted]
    elif args.quick:
        inputs = inputs[::3]
    scorer = make_scorer()
    machine_before = common.machine()
    folder = common.results_dir(args.out)
    if args.rescore:
        earlier = json.loads((folder / "trust.json").read_text())
        results = rescore(json.loads((folder / "trust-replies.json").read_text()), inputs, scorer)
        kept = {key: earlier["figures"].get(key) for key in ("model", "rasa_log", "machine_at_start",
                                                              "load_average_end", "turn_seconds")}
        figures = {**figures_of(results), **kept, "rescored": True}
        (folder / "trust-replies.json").write_text(json.dumps(results, indent=2) + "\n")
        common.write_section("trust", "Trust: false assertions, helpful answers and clarifying questions",
                             figures, report(figures), args.out, started)
        return
    with tempfile.TemporaryDirectory(prefix="bench-trust-") as scratch:
        with Stack("bench-trust", model=args.model) as stack:  # first: training may fail on a busy machine
            material = render(inputs, Path(scratch))
            results = measure(stack.url, inputs, material, scorer)
            model = Path(stack.model).name
            degraded = stack.log_counts()
    figures = {**figures_of(results), "model": model, "rasa_log": degraded, "machine_at_start": machine_before,
               "load_average_end": [round(x, 2) for x in os.getloadavg()],
               "turn_seconds": common.summary([r["seconds"] for r in results], 2)}
    (folder / "trust-replies.json").write_text(json.dumps(results, indent=2) + "\n")
    common.write_section("trust", "Trust: false assertions, helpful answers and clarifying questions",
                         figures, report(figures), args.out, started)


if __name__ == "__main__":
    main()
