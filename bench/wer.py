"""Error rates for tests and benchmarks: word error rate (speech) and character error rate (OCR),
both (substitutions + deletions + insertions) / length of the reference."""
import re
from typing import List, Sequence

NUMBERS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
           "7": "seven", "8": "eight", "9": "nine", "10": "ten", "11": "eleven", "12": "twelve"}
# 13..99 said as words become digits, as they are written in model names ("Aero fourteen" = "Aero 14")
TEENS = {word: str(13 + i) for i, word in enumerate(
    "thirteen fourteen fifteen sixteen seventeen eighteen nineteen".split())}
TENS = {word: 20 + 10 * i for i, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())}
UNITS = {word: int(digit) for digit, word in NUMBERS.items() if 1 <= int(digit) <= 9}


def words(text: str) -> List[str]:
    """Lowercase words without punctuation, so that spelling choices don't count as errors:
    hyphens and apostrophes join ("e-mail" = "email"), letters split from digits, numbers up to
    twelve become words and 13 to 99 digits ("fifty-five" = "55"), longer digit runs and ones
    with a leading zero are read digit by digit ("4571" = "four five seven one", "R01" = "R zero
    one"), and spelled-out letters join ("B W" = "BW")."""
    text = re.sub(r"[-'’]", "", text.lower())
    tokens: List[str] = []
    for token in _numbers_as_digits(re.findall(r"[a-z]+|[0-9]+", text)):
        if token.isdigit() and (len(token) > 2 or token.startswith("0")):
            tokens.extend(NUMBERS[digit] for digit in token)
        else:
            tokens.append(NUMBERS.get(token, token))
    joined: List[str] = []
    spelling = False  # the previous token was a single letter
    for token in tokens:
        letter = len(token) == 1 and token.isalpha()
        if letter and spelling:
            joined[-1] += token
        else:
            joined.append(token)
        spelling = letter
    return joined


def _numbers_as_digits(tokens: List[str]) -> List[str]:
    """Number words from 13 to 99 as digits: "fourteen", "fiftyfive" (from "fifty-five") and
    "fifty five" -> "14", "55"."""
    out: List[str] = []
    open_tens = False  # the last token was a tens word alone ("fifty"), a unit may follow
    for token in tokens:
        tens = next((word for word in TENS if token.startswith(word)), None)
        if open_tens and token in UNITS:
            out[-1] = str(int(out[-1]) + UNITS[token])
        elif token in TEENS:
            out.append(TEENS[token])
        elif tens and (token == tens or token[len(tens):] in UNITS):
            out.append(str(TENS[tens] + UNITS.get(token[len(tens):], 0)))
        else:
            out.append(token)
        open_tens = token == tens
    return out


def edit_distance(ref: Sequence, hyp: Sequence) -> int:
    """Levenshtein distance (unit costs) between two sequences of words or characters."""
    row = list(range(len(hyp) + 1))  # one row of the table at a time
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1]


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return float(bool(hyp))
    return edit_distance(ref, hyp) / len(ref)


def squeeze(text: str) -> str:
    """Whitespace normalised for CER: every run of spaces, tabs and newlines becomes one space."""
    return " ".join(text.split())


def cer(reference: str, hypothesis: str) -> float:
    """Character error rate: character edit distance / reference characters, after whitespace
    normalisation (squeeze). Case and punctuation count, as they do for codes like "BW-1001".
    Can exceed 1 when the hypothesis is much longer than the reference."""
    ref, hyp = squeeze(reference), squeeze(hypothesis)
    if not ref:
        return float(bool(hyp))
    return edit_distance(ref, hyp) / len(ref)
