"""Text for the ear, and the ear's text for the forms.

Bot messages are written for a screen: buttons, emojis, links, markdown, order numbers such as
BW-167413. `speakable_messages` turns them into what the voice says: buttons become the options
read out ("You can say: Yes, No or Talk to an agent."), emojis, markdown and links go, codes are
read character by character with digits as words in groups of three ("B W, one six seven, four
one three"), and `perception.engines.speech_out.speakable` removes what a speech engine cannot
read (control and format characters). `read_back` is the confirmation a caller hears of the
order number, e-mail and digits the assistant took from their words.

The other way, `written` turns what Whisper heard while a form asks for a slot into the form
the validators expect: "b w three one eight nine oh four" -> "BW318904", "hiro dot tanaka at
example dot com" -> "hiro.tanaka@example.com", "four five seven one" -> "4571".
"""
import re
import unicodedata
from typing import Any, Dict, Iterable, List, Optional

from perception.engines.speech_out import speakable

DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
HEARD_DIGITS = {**{word: str(n) for n, word in enumerate(DIGIT_WORDS)}, "oh": "0", "nought": "0"}
# a code: letters then at least four digits (BW-167413, RMA-204518, US1109525498), or 5+ digits
CODE = re.compile(r"(?<![\w@.])(?:[A-Za-z]{1,4}-?\d{4,}|\d{5,})(?![\w@])")
URL = re.compile(r"\bhttps?://\S+|\bwww\.\S+", re.IGNORECASE)
MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
LIST_MARK = re.compile(r"^\s*(?:[-*•·◦▪]|\d+[.)])\s+", re.MULTILINE)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def is_pictograph(char: str) -> bool:
    """Emoji and other pictographs (symbols of category So/Sk, variation selectors)."""
    if char in "\ufe0e\ufe0f\u20e3":
        return True
    return unicodedata.category(char) in ("So", "Sk") and char not in "°©®™"


def digits_spoken(digits: str) -> str:
    """'167413' -> 'one six seven, four one three': groups of three (two twos at the end rather
    than a lone digit); four digits or fewer in one group."""
    if len(digits) <= 4:
        return " ".join(DIGIT_WORDS[int(d)] for d in digits)
    groups = [digits[i:i + 3] for i in range(0, len(digits), 3)]
    if len(groups[-1]) == 1:  # no lone digit at the end: 1234567 -> 123, 45, 67
        groups[-2:] = [groups[-2][:2], groups[-2][2:] + groups[-1]]
    return ", ".join(" ".join(DIGIT_WORDS[int(d)] for d in group) for group in groups)


def code_spoken(code: str) -> str:
    """'BW-167413' -> 'B W, one six seven, four one three'."""
    letters = re.sub(r"[^A-Za-z]", "", code).upper()
    digits = re.sub(r"\D", "", code)
    spoken = digits_spoken(digits)
    return f"{' '.join(letters)}, {spoken}" if letters else spoken


def email_spoken(email: str) -> str:
    """'hiro.tanaka@example.com' -> 'hiro dot tanaka at example dot com'."""
    names = {".": " dot ", "@": " at ", "_": " underscore ", "-": " dash ", "+": " plus "}
    spoken = "".join(names.get(c, f" {DIGIT_WORDS[int(c)]} " if c.isdigit() else c) for c in email)
    return " ".join(spoken.split())


def speakable_text(text: str) -> str:
    """One message's text for the ear: no markdown, links, emojis; codes read out; e-mails said."""
    text = MARKDOWN_LINK.sub(r"\1", text)
    text = URL.sub("the link in the chat", text)
    text = EMPHASIS.sub(r"\2", text)
    text = LIST_MARK.sub("", text)
    text = "".join(c for c in text if not is_pictograph(c))
    text = EMAIL.sub(lambda m: email_spoken(m.group(0)), text)
    text = CODE.sub(lambda m: code_spoken(m.group(0)), text)
    lines = []
    for line in speakable(text).splitlines():  # a line break is a pause: end it as a sentence
        line = re.sub(r"\s+([.,!?;:])", r"\1", " ".join(line.split()))  # "news 🎉!" -> "news!"
        if line:
            lines.append(line if line[-1] in ".!?:;," else f"{line}.")
    return " ".join(lines)


def options_spoken(titles: List[str]) -> str:
    if len(titles) == 1:
        return f"You can say: {titles[0]}."
    return f"You can say: {', '.join(titles[:-1])} or {titles[-1]}."


def speakable_messages(messages: Iterable[Dict[str, Any]]) -> str:
    """What the voice says for a turn's bot messages (Rasa's CollectingOutputChannel dicts).

    Text is spoken; buttons and quick replies are read as options by their titles; images,
    attachments and custom payloads are shown only (the browser page displays them)."""
    parts: List[str] = []
    for message in messages:
        text = message.get("text")
        if isinstance(text, str) and text.strip():
            spoken = speakable_text(text)
            if spoken:
                parts.append(spoken)
        buttons = message.get("buttons") or message.get("quick_replies") or []
        titles = [speakable_text(str(b.get("title") or "")).rstrip(".") for b in buttons if isinstance(b, dict)]
        titles = [t for t in titles if t]
        if titles:
            parts.append(options_spoken(titles))
    return " ".join(parts)


def sentences(text: str) -> List[str]:
    """The spoken text cut into sentences, synthesized one by one (the first plays sooner)."""
    return [part.strip() for part in SENTENCE_END.split(text) if part.strip()]


def read_back(taken: Dict[str, Optional[str]]) -> Optional[str]:
    """The confirmation of what the assistant took from the caller's words this turn."""
    said = []
    if taken.get("order_id"):
        said.append(f"order number {code_spoken(taken['order_id'])}")
    if taken.get("email"):
        said.append(f"the e-mail {email_spoken(taken['email'])}")
    if taken.get("phone_last4"):
        said.append(f"the digits {digits_spoken(re.sub(r'[^0-9]', '', taken['phone_last4']))}")
    if not said:
        return None
    return f"I have {' and '.join(said)}."


# ----------------------------------------------------------------------- heard -> written

def heard_words(transcript: str) -> List[str]:
    """Lowercase words and digits, digits said as words turned into digits, one token per digit
    ("four 57 double one" -> 4 5 7 1 1); apostrophes stay inside words ("it's" is no letter)."""
    words: List[str] = []
    repeat = 1
    for word in re.findall(r"[a-z]+(?:'[a-z]+)?|\d+", transcript.lower()):
        if word in ("double", "triple"):
            repeat = 2 if word == "double" else 3
            continue
        if word in HEARD_DIGITS:
            word = HEARD_DIGITS[word]
        if word.isdigit():
            digits = list(word)
            words.extend(digits * repeat if len(digits) == 1 else digits)
        else:
            words.append(word)
        repeat = 1
    return words


def code_candidates(transcript: str) -> List[str]:
    """Codes said aloud: letters (one word of up to three, or single letters) then 4+ digits,
    the most letters first: 'it's b w 3 1 8 9 0 4' -> ['BW318904', 'W318904', '318904']."""
    words = heard_words(transcript)
    found: List[str] = []
    index = 0
    while index < len(words):
        if not words[index].isdigit():
            index += 1
            continue
        end = index
        while end < len(words) and words[end].isdigit():
            end += 1
        digits = "".join(words[index:end])
        if len(digits) >= 4:
            before = words[:index]
            letters = ""
            if before and before[-1].isalpha() and 1 < len(before[-1]) <= 3:
                letters = before[-1]
            else:
                while before and len(before[-1]) == 1 and before[-1].isalpha() and len(letters) < 3:
                    letters = before.pop() + letters
            found.extend(f"{letters[cut:].upper()}{digits}" for cut in range(len(letters) + 1))
        index = end
    return found


def written_code(transcript: str, pattern: Optional[str] = None) -> Optional[str]:
    """The order number in a transcript, written as `pattern` (e.g. ^BW-\\d{6}$) wants it, else
    the candidate with the most letters.

    Letters are what speech recognition gets wrong most ("B W" is often heard "VW" or "P W"):
    when the pattern is a fixed prefix and N digits, N digits heard are taken with the prefix.
    The caller hears the number read back and can correct it."""
    candidates = code_candidates(transcript)
    if pattern is None:
        return candidates[0] if candidates else None
    for candidate in candidates:
        letters = re.sub(r"\d", "", candidate)
        for form in (candidate, f"{letters}-{candidate[len(letters):]}"):
            if re.fullmatch(pattern, form):
                return form
    simple = re.fullmatch(r"\^?([A-Za-z]*)(-?)\\d\{(\d+)\}\$?", pattern)
    if simple:
        prefix, dash, count = simple.group(1), simple.group(2), int(simple.group(3))
        for candidate in candidates:
            digits = re.sub(r"\D", "", candidate)
            if len(digits) == count:
                return f"{prefix.upper()}{dash}{digits}"
    return None


def written_email(transcript: str) -> Optional[str]:
    """An e-mail said aloud: 'hiro dot tanaka at example dot com' -> 'hiro.tanaka@example.com'."""
    text = transcript.strip().rstrip(".?!")
    found = EMAIL.search(text)
    if found:
        return found.group(0).lower()
    text = f" {text.lower()} "
    for said, sign in ((" at ", "@"), (" dot ", "."), (" period ", "."), (" underscore ", "_"),
                       (" dash ", "-"), (" hyphen ", "-")):
        while said in text:
            text = text.replace(said, f" {sign} ")
    if text.count("@") != 1:
        return None
    local, _, domain = text.partition("@")
    words = [word.strip(",") for word in local.split()]
    # the address starts after the words around it: "my email is hiro . tanaka"
    fillers = {"is", "it's", "its", "my", "email", "e-mail", "mail", "address", "the", "sure", "yes", "it",
               "yeah", "okay", "ok", "so"}
    while len(words) > 1 and words[0] in fillers:
        words.pop(0)
    found = EMAIL.search("".join(words) + "@" + "".join(domain.split()))
    return found.group(0).lower() if found else None


def written_digits(transcript: str) -> Optional[str]:
    """Digits said one by one or in groups: 'four five seven one' -> '4571'."""
    digits = "".join(word for word in heard_words(transcript) if word.isdigit())
    return digits or None


def written(transcript: str, slot: Optional[str], order_id_pattern: Optional[str] = None) -> str:
    """The transcript as the form asking for `slot` expects it; unchanged when nothing fits."""
    if slot == "order_id":
        return written_code(transcript, order_id_pattern) or transcript
    if slot == "email":
        return written_email(transcript) or transcript
    if slot in ("phone_last4", "digits"):
        return written_digits(transcript) or transcript
    return transcript
