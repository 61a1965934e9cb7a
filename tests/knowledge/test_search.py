"""KnowledgeIndex: lexical BM25 on the real packs, the embedding path, and the fallback between them."""
import hashlib
import re

import numpy as np
import pytest

from knowledge.pack import Passage
from knowledge.search import (EMBEDDING_THRESHOLD, LEXICAL_THRESHOLD, KnowledgeIndex, stem,
                              tokenize)
from perception.client import PerceptionClient, PerceptionUnavailable


# What a right answer looks like, in words both packs share.
def is_return_window(hit, hits):
    return hit.passage.title == "Returns" and any("30 days" in h.passage.text for h in hits)


def is_no_abroad(hit, hits):
    return hit.passage.source == "faq" and "50" in hit.passage.text and "states" in hit.passage.text


def is_protect_price(hit, hits):
    return "Brightwave Protect" in hit.passage.text and "10%" in hit.passage.text


def is_blinking_red(hit, hits):
    return "BW-R02" in hit.passage.text and "blinking red" in hit.passage.text.lower()


def is_one_promo_code(hit, hits):
    return "one promo code" in hit.passage.text.lower()


QUESTIONS = [
    ("how long do I have to send back headphones", is_return_window),
    ("do you ship to Canada", is_no_abroad),
    ("what does Brightwave Protect cost", is_protect_price),
    ("my router light is blinking red", is_blinking_red),
    ("can I use 2 discount codes", is_one_promo_code),
]
OFF_TOPIC = [
    "what's the weather in Paris",
    "who won the football game",
    "what is the capital of France",
    "write me a poem about the sea",
    "tell me about the stock market",
]


@pytest.fixture(scope="module")
def lexical(pack):
    return KnowledgeIndex(pack.passages, client=None)


# ---------------------------------------------------------------- lexical


@pytest.mark.parametrize("question, right", QUESTIONS, ids=[q for q, _ in QUESTIONS])
def test_lexical_answers_real_questions(lexical, question, right):
    hit = lexical.best(question)
    assert hit is not None, question
    assert hit.method == "lexical" and hit.score >= LEXICAL_THRESHOLD
    assert right(hit, lexical.search(question, k=3)), hit.passage.id


@pytest.mark.parametrize("question", OFF_TOPIC)
def test_lexical_rejects_off_topic(lexical, question):
    assert lexical.best(question) is None


def test_search_ranks_and_filters(lexical):
    hits = lexical.search("can I cancel my order", k=5)
    assert len(hits) == 5
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    only_policies = lexical.search("can I cancel my order", k=3, sources=["policies"])
    assert only_policies and all(h.passage.source == "policies" for h in only_policies)
    assert only_policies[0].passage.title == "Cancellations"
    assert lexical.search("   ") == [] and lexical.best("") is None


def test_stemming_and_stopwords():
    assert stem("returns") == stem("returned") == stem("returning") == stem("return")
    assert stem("shipped") == stem("ship")
    assert stem("charges") == stem("charged") == stem("charge")
    assert stem("cancelled") == stem("cancellations") == stem("cancel")
    assert stem("used") == stem("use") and stem("passed") == "pass"
    assert tokenize("Can I use TWO codes?") == [stem("use"), "2", stem("code")]
    assert "the" not in tokenize("the weather")


# ---------------------------------------------------------------- embedding path (fake client)


class HashingClient:
    """Stands in for PerceptionClient: bag-of-words vectors, L2-normalised, counting calls."""

    def __init__(self, fail=False):
        self.calls, self.fail = [], fail

    def embed(self, texts):
        self.calls.append(len(texts))
        if self.fail:
            raise PerceptionUnavailable("down")
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 384] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


PASSAGES = [
    Passage("a", "faq", "Alpha?", "Alpha? apples and pears", "apples and pears"),
    Passage("b", "policies", "Beta", "Beta: bananas and cherries", "bananas and cherries"),
]


def test_embeds_passages_once_lazily():
    client = HashingClient()
    index = KnowledgeIndex(PASSAGES, client=client)
    assert client.calls == []  # nothing until the first search
    hit = index.best("bananas and cherries")
    assert hit.passage.id == "b" and hit.method == "embedding" and hit.score > 0.8
    index.best("apples")
    assert client.calls == [2, 1, 1]  # passages once, then one call per query


def test_embedding_threshold_rejects_unrelated():
    index = KnowledgeIndex(PASSAGES, client=HashingClient(), embedding_threshold=0.5)
    assert index.best("zebra xylophone") is None
    assert index.search("zebra xylophone", k=1)[0].method == "embedding"


def test_falls_back_to_lexical_when_the_service_is_down():
    client = HashingClient(fail=True)
    index = KnowledgeIndex(PASSAGES, client=client, retry_after_s=60)
    hit = index.best("bananas cherries")
    assert hit.passage.id == "b" and hit.method == "lexical"
    index.best("apples pears")
    assert client.calls == [2]  # no second try while the service is known to be down


def test_falls_back_with_the_real_client_on_a_closed_port(our_pack):
    from tests.services import closed_url

    client = PerceptionClient(base_url=closed_url(), timeout=2)
    index = KnowledgeIndex(our_pack.passages, client=client)
    hit = index.best("my router light is blinking red")
    assert hit is not None and hit.method == "lexical" and "BW-R02" in hit.passage.text


def test_from_pack_reads_thresholds(our_pack):
    default = KnowledgeIndex.from_pack(our_pack)
    assert default.thresholds == {"embedding": EMBEDDING_THRESHOLD, "lexical": LEXICAL_THRESHOLD}

    class Tuned:
        passages = our_pack.passages
        settings = {"search": {"embedding_threshold": 0.6, "lexical_threshold": "0.3"}}

    assert KnowledgeIndex.from_pack(Tuned()).thresholds == {"embedding": 0.6, "lexical": 0.3}


# ---------------------------------------------------------------- embedding path (real service)


@pytest.fixture(scope="module")
def embedded(perception_url, pack):
    return KnowledgeIndex(pack.passages, client=PerceptionClient(base_url=perception_url, timeout=30))


@pytest.mark.parametrize("question, right", QUESTIONS, ids=[q for q, _ in QUESTIONS])
def test_embedding_answers_real_questions(embedded, question, right):
    hit = embedded.best(question)
    assert hit is not None, question
    assert hit.method == "embedding" and hit.score >= EMBEDDING_THRESHOLD
    assert right(hit, embedded.search(question, k=3)), hit.passage.id


@pytest.mark.parametrize("question", OFF_TOPIC + ["I want to order a pizza", "are you a robot"])
def test_embedding_rejects_off_topic(embedded, question):
    hits = embedded.search(question, k=1)
    assert hits[0].method == "embedding"
    assert embedded.best(question) is None
