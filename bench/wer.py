"""Word error rate (tests and benchmarks): (substitutions + deletions + insertions) / reference words."""
import re
from typing import List

NUMBERS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
           "7": "seven", "8": "eight", "9": "nine", "10": "ten", "11": "eleven", "12": "twelve"}


def words(text: str) -> List[str]:
    """Lowercase words without punctuation; hyphens and apostrophes join ("e-mail" = "email")."""
    text = re.sub(r"[-'’]", "", text.lower())
    return [NUMBERS.get(w, w) for w in re.findall(r"[a-z0-9]+", text)]


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = words(reference), words(hypothesis)
    if not ref:
        return float(bool(hyp))
    row = list(range(len(hyp) + 1))  # edit distance over words, one row at a time
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1] / len(ref)
