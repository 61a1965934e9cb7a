"""Passage retrieval: sentence embeddings from the perception service, BM25 when it is down.

`KnowledgeIndex(passages, client)` embeds the passages once, on the first search, and ranks
them by cosine similarity to the query. Without a client, or while the service is
unavailable, it ranks them with BM25 over lightly stemmed words. `best()` applies a
threshold per method so an off-topic question gets no passage at all.
"""
from __future__ import annotations

import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence

import numpy as np

from knowledge.pack import Passage
from knowledge.trust import Decision, decide

try:  # the client lives in the perception package; the index works without it
    from perception.client import PerceptionError
except ImportError:  # pragma: no cover - only when perception/ is absent
    class PerceptionError(RuntimeError):  # type: ignore[no-redef]
        pass

# Calibrated on our pack and the shared reference pack with 17 real questions and 22
# off-topic ones: all-MiniLM-L6-v2 cosine gave >= 0.45 for the right passage and <= 0.37
# off-topic; normalised BM25 gave >= 0.26 and <= 0.20 (arithmetic such as "2 plus 2" can
# pass lexically: numbers are words the pack uses).
EMBEDDING_THRESHOLD = 0.42
LEXICAL_THRESHOLD = 0.22
EMBED_BATCH = 16  # passages per embedding request

STOPWORDS = frozenset(
    """a an and are as at be been but by can could do does did for from had has have how i i'm
    if in into is it its me my of on or our so than that the their them then there these this
    those to us was we were what when where which who why will with would you your yours
    am any about just please hi hello thanks thank get got want need tell know like let say
    some much many also here really very still ok okay yes no im ive""".split()
)

# A few everyday phrasings mapped to the words policies use (applied to queries and passages).
SYNONYMS = {
    "send back": "return",
    "sent back": "return",
    "bring back": "return",
    "give back": "return",
    "how long": "days within",
    "money back": "refund",
    "ship to": "deliver",
    "abroad": "outside united states countries",
    "overseas": "outside united states countries",
    "international": "outside united states countries",
    "canada": "outside united states countries",
    "mexico": "outside united states countries",
    "europe": "outside united states countries",
    "uk": "outside united states countries",
    "package": "parcel",
    "broken": "damaged",
    "smashed": "damaged",
    "cost": "price",
    "costs": "price",
    "discount": "promo",
    "coupon": "promo",
    "voucher": "promo",
    "opening hours": "monday friday saturday",
    "person": "agent",
    "human": "agent",
}


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float
    method: str  # "embedding" | "lexical"


def stem(word: str) -> str:
    """Light suffix stripping so that "returns", "returned" and "returning" meet."""
    for suffix in ("ations", "ation", "ing", "ed"):
        if word.endswith(suffix) and len(word) >= len(suffix) + 2:
            word = word[: -len(suffix)]
            # "shipped" -> "ship", "cancelled" -> "cancel"; but "passed" -> "pass"
            if len(word) > 2 and word[-1] == word[-2] and (
                    word[-1] not in "lsz" or (word[-1] == "l" and len(word) > 5)):
                word = word[:-1]
            break
    else:
        if word.endswith("ies") and len(word) > 4:
            word = word[:-3] + "y"
        elif word.endswith("s") and not word.endswith("ss") and len(word) > 3:
            word = word[:-1]
    if word.endswith("e") and len(word) >= 3:
        word = word[:-1]  # "charge" and "charged" both become "charg"
    return word


NUMBER_WORDS = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}


def tokenize(text: str) -> List[str]:
    """Lowercased words without stopwords, stemmed; number words become digits."""
    tokens = []
    for word in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", (text or "").lower()):
        if word in STOPWORDS:
            continue
        word = word.split("'")[0]  # "don't" -> "don", "router's" -> "router"
        if word in STOPWORDS:
            continue
        tokens.append(NUMBER_WORDS.get(word) or stem(word))
    return tokens


def expand_query(text: str) -> str:
    """Text with everyday phrasings replaced by the words the pack uses."""
    query = (text or "").lower()
    for phrase, target in SYNONYMS.items():
        query = re.sub(rf"\b{re.escape(phrase)}\b", target, query)
    return query


class BM25:
    """Okapi BM25; scores are divided by the best a query could score, giving 0..1."""

    def __init__(self, documents: Sequence[str], k1: float = 1.2, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs = [Counter(tokenize(expand_query(doc))) for doc in documents]
        self.lengths = [sum(doc.values()) for doc in self.docs]
        self.avg_length = (sum(self.lengths) / len(self.lengths)) if self.docs else 1.0
        n = len(self.docs)
        df = Counter(term for doc in self.docs for term in doc)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.unseen_idf = math.log(1 + (n + 0.5) / 0.5)

    def scores(self, query: str) -> List[float]:
        terms = set(tokenize(query))
        if not terms or not self.docs:
            return [0.0] * len(self.docs)
        # an unknown word ("weather") counts against the query as the rarest word would
        ceiling = sum(self.idf.get(t, self.unseen_idf) for t in terms) * (self.k1 + 1)
        results = []
        for doc, length in zip(self.docs, self.lengths):
            score = 0.0
            norm = self.k1 * (1 - self.b + self.b * length / self.avg_length)
            for term in terms & doc.keys():
                tf = doc[term]
                score += self.idf[term] * tf * (self.k1 + 1) / (tf + norm)
            results.append(score / ceiling)
        return results


class KnowledgeIndex:
    def __init__(
        self,
        passages: Sequence[Passage],
        client: Any = None,
        embedding_threshold: float = EMBEDDING_THRESHOLD,
        lexical_threshold: float = LEXICAL_THRESHOLD,
        retry_after_s: float = 30.0,
        limits: Optional[Dict[str, Dict[str, float]]] = None,
    ) -> None:
        self.passages = list(passages)
        self.client = client
        self.thresholds = {"embedding": embedding_threshold, "lexical": lexical_threshold}
        # per method: threshold, margin and candidates (knowledge/trust.py); without them the
        # threshold alone decides and no candidates are offered
        self.limits = {method: {"threshold": self.thresholds[method], "margin": 0.0,
                                "candidates": float("inf"), **((limits or {}).get(method) or {})}
                       for method in ("embedding", "lexical")}
        self.retry_after_s = retry_after_s
        self._bm25 = BM25([p.text for p in self.passages])
        self._vectors: Optional[np.ndarray] = None
        self._lock = threading.Lock()
        self._down_until = 0.0  # after a failure, skip the service for retry_after_s

    @classmethod
    def from_pack(cls, pack: Any, client: Any = None) -> "KnowledgeIndex":
        """An index of the pack's passages with the limits of pack.yml `trust: passages:`
        (an older `search:` section's thresholds count when `trust:` leaves them out)."""
        from knowledge.trust import limits_for

        options: Dict[str, Any] = dict(pack.settings.get("search") or {})
        limits = {method: limits_for(pack.settings, "passages", method)
                  for method in ("embedding", "lexical")}
        return cls(pack.passages, client=client, limits=limits, **{
            k: float(v) for k, v in options.items()
            if k in ("embedding_threshold", "lexical_threshold")
        })

    # ------------------------------------------------------------ scoring

    def _passage_vectors(self) -> Optional[np.ndarray]:
        """The passages' vectors, embedded once in batches of EMBED_BATCH (a busy service answers
        small requests within its queue time limit); None while another thread is embedding
        them, so that a search meanwhile uses BM25 instead of waiting."""
        if self._vectors is not None:
            return self._vectors
        if not self._lock.acquire(blocking=False):
            return None
        try:
            if self._vectors is None:
                texts = [p.text for p in self.passages]
                parts = [np.asarray(self.client.embed(texts[i:i + EMBED_BATCH]), dtype=np.float32)
                         for i in range(0, len(texts), EMBED_BATCH)]
                self._vectors = np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
            return self._vectors
        finally:
            self._lock.release()

    def _embedding_scores(self, query: str) -> Optional[np.ndarray]:
        if self.client is None or not self.passages or time.monotonic() < self._down_until:
            return None
        try:
            vectors = self._passage_vectors()
            if vectors is None:
                return None
            query_vector = np.asarray(self.client.embed([query]), dtype=np.float32)[0]
        except (PerceptionError, KeyError, ValueError):  # down, or an answer we cannot use
            self._down_until = time.monotonic() + self.retry_after_s
            return None
        norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(query_vector) or 1.0)
        return (vectors @ query_vector) / np.where(norms == 0, 1.0, norms)

    def scores(self, query: str) -> tuple:
        """(scores per passage, method) for a query."""
        embedded = self._embedding_scores(query)
        if embedded is not None:
            return [float(s) for s in embedded], "embedding"
        return self._bm25.scores(expand_query(query)), "lexical"

    # ------------------------------------------------------------ API

    def search(self, query: str, k: int = 3,
               sources: Optional[Iterable[str]] = None) -> List[Hit]:
        if not (query or "").strip():
            return []
        wanted = set(sources) if sources else None
        scores, method = self.scores(query)
        hits = [Hit(p, round(s, 4), method) for p, s in zip(self.passages, scores)
                if wanted is None or p.source in wanted]
        hits.sort(key=lambda hit: -hit.score)
        return hits[:k]

    def decide(self, query: str, sources: Optional[Iterable[str]] = None,
               may_answer: bool = True) -> Decision:
        """The passage it may state (above the threshold and ahead of the best passage of
        another topic by the margin), else the likely candidates (knowledge/trust.py)."""
        hits = self.search(query, k=len(self.passages), sources=sources)
        if not hits:
            return Decision()
        return decide(hits, self.limits[hits[0].method], may_answer=may_answer)

    def best(self, query: str, sources: Optional[Iterable[str]] = None) -> Optional[Hit]:
        """The passage it may state for `query`, or None (see `decide`)."""
        return self.decide(query, sources=sources).answer
