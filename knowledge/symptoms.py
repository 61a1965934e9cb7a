"""A device's own symptom, described in the pack's words: a lookup, not a guess.

error_codes.csv says what each code looks like (`screen_text`: "Solid red light (BW-R01) / app:
No internet connection.") and on which device (`where`: "Brightwave Mesh Router"). A customer who
names that device and every word of one of those phrases ("my router has a solid red light",
or a screenshot of the router's app page saying "Solid red light") reports exactly what the
company's records list for that code, so the code and its fix may be given. Anything looser
("my tv won't turn on", "the light is red") stays a likely match (actions/abstain.py).

Only codes of one named Brightwave device qualify: the app and website codes' phrases ("Session
expired", "Service temporarily unavailable") are shown by other companies' pages too, and a
safety code (escalate) is stated only when the code itself or safety words were given
(actions/devices.py). Two codes described at once: no lookup, the candidates are offered.
"""
from __future__ import annotations

import re
from typing import Dict, FrozenSet, List, Optional, Sequence, Tuple

from knowledge.pack import ErrorCode

WORD = re.compile(r"[a-z0-9]+")
CODE = re.compile(r"\(?\b[A-Z]{1,3}-?[A-Z]?\d{2,4}\b\)?")
# the label before a screen's words ("On screen: No signal", "app: No internet connection")
LABEL = re.compile(r"^\s*(?:on screen|app|screen|display)\s*:\s*", re.IGNORECASE)
FILLER = frozenset("a an the and or of on in is to your this from".split())
# everyday names of the device kinds the pack's `where` column uses
DEVICE_WORDS: Dict[str, FrozenSet[str]] = {
    "router": frozenset({"router", "wifi", "mesh"}),
    "tv": frozenset({"tv", "television", "telly"}),
    "speaker": frozenset({"speaker"}),
    "smartwatch": frozenset({"smartwatch", "watch"}),
}


def words(text: str) -> List[str]:
    return WORD.findall((text or "").lower())


def phrases(code: ErrorCode) -> List[FrozenSet[str]]:
    """The word sets of the screen's phrases ("solid red light", "no internet connection"), each of
    at least two words once the code and filler words are left out."""
    found = []
    text = CODE.sub(" ", code.screen_text or "")
    for part in re.split(r"[/.;]|\band spoken message\b", text):
        part = LABEL.sub("", part.strip())
        kept = frozenset(w for w in words(part) if w not in FILLER)
        if len(kept) >= 2:
            found.append(kept)
    return found


def device_words(code: ErrorCode) -> FrozenSet[str]:
    """Words that name the code's device ("router", "mesh"); empty when it is not one device."""
    where = words(code.where)
    if not where or where[0] != "brightwave" or "any" in where:
        return frozenset()
    names = set(where[1:]) - {"smart"}  # "smart" names no one device
    for kind, synonyms in DEVICE_WORDS.items():
        if kind in names:
            names |= synonyms
    return frozenset(names)


def described_code(text: str, codes: Sequence[ErrorCode]) -> Optional[Tuple[ErrorCode, str]]:
    """The one code whose device and one whole screen phrase `text` names, with that phrase; None
    when no code or more than one is described."""
    said = set(words(text))
    matches = []
    for code in codes:
        if code.escalate:
            continue
        device = device_words(code)
        if not device or not device & said:
            continue
        for phrase in phrases(code):
            if phrase <= said:
                matches.append((code, phrase))
                break
    if len({code.code for code, _ in matches}) != 1:
        return None
    code, phrase = matches[0]
    ordered = [w for w in words(CODE.sub(" ", code.screen_text)) if w in phrase]
    return code, " ".join(dict.fromkeys(ordered))
