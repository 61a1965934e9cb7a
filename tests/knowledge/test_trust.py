"""knowledge/trust.py: the answer/candidates decision, unknown codes, photo categories, and the
calibration script's choices on a small labelled set (BM25, no service)."""
from knowledge import calibrate
from knowledge.pack import CompanyPack, Passage
from knowledge.search import Hit
from knowledge.trust import category_lead, decide, photo_is_clear, unknown_codes

PACK = CompanyPack.load()


def hit(pid: str, score: float, source: str = "faq") -> Hit:
    return Hit(Passage(id=pid, source=source, title=pid, text=pid), score, "embedding")


def test_answer_needs_the_threshold_and_the_margin():
    limits = {"threshold": 0.6, "margin": 0.05, "candidates": 0.4}
    sure = decide([hit("faq:a", 0.8), hit("faq:b", 0.5)], limits)
    assert sure.answer.passage.id == "faq:a"
    close = decide([hit("faq:a", 0.8), hit("faq:b", 0.78), hit("faq:c", 0.3)], limits)
    assert close.answer is None and [h.passage.id for h in close.candidates] == ["faq:a", "faq:b"]
    low = decide([hit("faq:a", 0.5), hit("faq:b", 0.2)], limits)
    assert low.answer is None and [h.passage.id for h in low.candidates] == ["faq:a"]
    assert decide([hit("faq:a", 0.3)], limits).candidates == []


def test_margin_is_against_another_topic():
    limits = {"threshold": 0.6, "margin": 0.05, "candidates": 0.4}
    hits = [hit("policies:returns:1", 0.8, "policies"), hit("policies:returns:2", 0.79, "policies"),
            hit("faq:x", 0.6)]
    assert decide(hits, limits).answer.passage.id == "policies:returns:1"


def test_codes_are_never_an_answer_and_a_clear_lead_offers_one():
    limits = {"candidates": 0.5, "single_margin": 0.1}
    hits = [hit("error:BW-R01", 0.9), hit("error:BW-R02", 0.7), hit("error:BW-T07", 0.6)]
    decision = decide(hits, limits, may_answer=False)
    assert decision.answer is None and [h.passage.id for h in decision.candidates] == ["error:BW-R01"]
    close = decide([hit("error:BW-R01", 0.9), hit("error:BW-R02", 0.85), hit("error:BW-T07", 0.6),
                    hit("error:BW-S12", 0.55)], limits, may_answer=False)
    assert len(close.candidates) == 3  # at most three


def test_unknown_codes():
    assert unknown_codes("it says BW-9931", PACK) == ["BW-9931"]
    assert unknown_codes("error bw 77 on the screen", PACK) == ["BW-77"]
    assert unknown_codes("Error E47 on the speaker", PACK) == ["E47"]
    for known in ("BW-R01", "bw-2002", "Solid red light (BW-RO1)", "Error E12 (BW-S12)",
                  "order BW-318904", "the BW-LT-1401 laptop", "Something went wrong", "Error 503"):
        assert unknown_codes(known, PACK) == [], known


def test_photo_category_needs_a_lead():
    mapping = PACK.settings["image_categories"]
    clear = [{"label": "notebook", "score": 0.5}, {"label": "laptop", "score": 0.2}]
    assert photo_is_clear(0.7, category_lead(clear, mapping, "laptop", 0.7), PACK.settings)
    torn = [{"label": "laptop", "score": 0.36}, {"label": "cellular telephone", "score": 0.32}]
    assert not photo_is_clear(0.36, category_lead(torn, mapping, "laptop", 0.36), PACK.settings)
    assert not photo_is_clear(0.2, 0.2, PACK.settings)


def test_pack_trust_section_is_read_with_defaults():
    trust = PACK.settings["trust"]
    for kind in ("passages", "error_codes"):
        for method in ("embedding", "lexical"):
            assert trust[kind][method]["candidates"] >= 0
    assert trust["passages"]["embedding"]["threshold"] > trust["passages"]["lexical"]["threshold"]


def test_calibration_chooses_a_separating_threshold():
    """On the pack's own calibration set with BM25: no unanswerable input is answered with the
    chosen values, and what they answer right is what the script reports."""
    import yaml

    data = yaml.safe_load((PACK.path / "calibration.yml").read_text(encoding="utf-8"))
    assert len(data["passages"]) + len(data["error_codes"]) >= 80
    assert any(item["answer"] is None for item in data["passages"])
    assert any(item["code"] is None for item in data["error_codes"])
    results = calibrate.calibrate(PACK, data, client=None)
    chosen = results["passages"]["lexical"]["values"]
    rows = calibrate.passage_rows(calibrate.KnowledgeIndex(PACK.passages), data["passages"])
    answered = [r for r in rows if r["best"] >= chosen["threshold"]
                and r["best"] - r["second"] >= chosen["margin"]]
    assert not [r for r in answered if not r["answerable"]]
    assert sum(r["right"] for r in answered) >= 10
    # the values in pack.yml are the ones the script chooses
    assert PACK.settings["trust"]["passages"]["lexical"] == chosen
    assert PACK.settings["trust"]["error_codes"]["lexical"] == results["error_codes"]["lexical"]["values"]
    section = calibrate.trust_section(PACK, results, 150)
    assert "trust:" in section and "not recalibrated" in section  # no service here: embedding kept
