"""The pure parts of the NLU benchmarks (bench/banking77.py, bench/nlu_cv.py) on tiny data:
reading the dataset, the stratified subset, the folds, the metrics, the epoch times from Rasa's
progress bar, the embedding cache and the markdown. No model is trained here."""
import json
from collections import Counter

import numpy as np
import pytest

from bench import banking77, nlu_cv


def rows(per_label):
    return [(f"{label} text {i}", label) for label, n in per_label.items() for i in range(n)]


def test_stratified_subset_caps_every_label_and_is_repeatable():
    data = rows({"a": 30, "b": 5, "c": 12})
    subset = banking77.stratified_subset(data, 10)
    assert Counter(label for _, label in subset) == {"a": 10, "b": 5, "c": 10}
    assert subset == banking77.stratified_subset(data, 10)
    assert [r for r in data if r in subset] == subset  # original order kept
    with pytest.raises(ValueError):
        banking77.stratified_subset(data, 0)


def test_read_split_normalises_text_and_rejects_other_columns(tmp_path):
    good = tmp_path / "train.csv"
    good.write_text('text,category\n"  where is   my card? ",card_arrival\n,empty_text\n"hi, there",greeting\n')
    assert banking77.read_split(good) == [("where is my card?", "card_arrival"), ("hi, there", "greeting")]
    bad = tmp_path / "bad.csv"
    bad.write_text("sentence,label\nhello,greeting\n")
    with pytest.raises(ValueError):
        banking77.read_split(bad)


def test_scores_accuracy_and_macro_f1():
    gold = ["a", "a", "b", "b"]
    result = banking77.scores(gold, ["a", "b", "b", None])
    assert result["accuracy"] == 0.5 and result["n"] == 4
    assert result["macro_f1"] == pytest.approx((2 / 3 + 0.5) / 2, abs=1e-4)  # a: F1 2/3, b: F1 1/2
    with pytest.raises(ValueError):
        banking77.scores(gold, ["a"])


def test_training_data_json_keeps_markup_as_text():
    text = banking77.training_data_json([("pay [me](x) now", "pay")])
    example = json.loads(text)["rasa_nlu_data"]["common_examples"][0]
    assert example == {"text": "pay [me](x) now", "intent": "pay", "entities": []}


def test_epoch_times_from_the_progress_bar():
    log = ("Epochs:   0%|          | 0/3 [00:00<?, ?it/s]\rEpochs:  33%|███▎      | 1/3 [02:56<05:52, 176.59s/it]"
           "\rEpochs:  67%|██████▋   | 2/3 [06:47<03:40, 208.45s/it, t_loss=4.27]"
           "\rEpochs: 100%|██████████| 3/3 [1:00:07<00:00, 10.0s/it]")
    assert banking77.epoch_times(log) == [176.0, 231.0, 3200.0]
    assert banking77.epoch_times("no progress here") == []


def test_embedding_cache_embeds_each_text_once_and_reloads(tmp_path):
    calls = []

    def embed(texts):
        calls.append(list(texts))
        return np.array([[len(t), 1.0] for t in texts], dtype=np.float32)

    cache = banking77.EmbeddingCache(tmp_path, model="m")
    first = cache.get(["ab", "abc", "ab"], embed)
    assert first.tolist() == [[2, 1], [3, 1], [2, 1]]
    assert calls == [["ab", "abc"]]
    cache.save()
    assert not list(tmp_path.glob("*.pkl")) and (tmp_path / "m.npz").exists()
    again = banking77.EmbeddingCache(tmp_path, model="m")
    assert again.get(["abc", "x"], embed).tolist() == [[3, 1], [1, 1]]
    assert calls[-1] == ["x"]
    other_model = banking77.EmbeddingCache(tmp_path, model="m")
    other_model.model = "n"  # another model's key misses the cache
    other_model.get(["ab"], embed)
    assert calls[-1] == ["ab"]


def test_embedding_cache_saves_merge_rows_of_other_runs(tmp_path):
    def embed(texts):
        return np.array([[len(t), 0.0] for t in texts], dtype=np.float32)

    one, two = banking77.EmbeddingCache(tmp_path, model="m"), banking77.EmbeddingCache(tmp_path, model="m")
    one.get(["a"], embed)
    two.get(["bb"], embed)
    one.save()
    two.save()  # must keep "a", saved by the other run meanwhile
    merged = banking77.EmbeddingCache(tmp_path, model="m")
    assert merged.get(["a", "bb"], lambda texts: pytest.fail("should be cached")).tolist() == [[1, 0], [2, 0]]


def test_missing_dataset_writes_a_skipped_section(tmp_path, monkeypatch):
    monkeypatch.setenv("BANKING77_DIR", str(tmp_path / "nowhere"))
    banking77.main(["--quick", "--out", str(tmp_path / "out")])
    record = json.loads((tmp_path / "out" / "banking77.json").read_text())
    assert record["figures"]["skipped"].startswith("skipped: dataset not found at")
    assert "nowhere" in (tmp_path / "out" / "banking77.md").read_text()


def test_banking77_table_has_the_paper_rows():
    result = {"accuracy": 0.9312, "macro_f1": 0.93, "train_s": 12.3, "latency_ms": {"p50": 11.0, "p95": 20.0}}
    table = banking77.report_rows({"minilm-lr": result})
    assert table[0][3] == "93.12" and table[0][6] == "11.0 / 20.0"
    assert [row[0] for row in table[1:]] == ["paper: USE+ConveRT", "paper: BERT-fixed"]
    assert table[1][3] == "93.36"


def test_fold_indices_partition_and_stratify():
    labels = ["a"] * 6 + ["b"] * 4 + ["c"] * 2
    folds = nlu_cv.fold_indices(labels, 2)
    assert sorted(i for fold in folds for i in fold) == list(range(len(labels)))
    for fold in folds:
        assert Counter(labels[i] for i in fold) == {"a": 3, "b": 2, "c": 1}
    assert folds == nlu_cv.fold_indices(labels, 2)
    with pytest.raises(ValueError):
        nlu_cv.fold_indices(labels, 3)  # "c" has 2 examples


def test_intent_metrics_macro_weighted_and_per_intent():
    gold = ["a", "a", "a", "b"]
    predicted = ["a", "a", "nlu_fallback", "a"]
    result = nlu_cv.intent_metrics(gold, predicted)
    assert result["accuracy"] == 0.5
    assert result["per_intent"]["b"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    assert result["per_intent"]["a"]["recall"] == pytest.approx(0.6667, abs=1e-4)
    assert result["macro"]["f1"] == pytest.approx(result["per_intent"]["a"]["f1"] / 2, abs=1e-4)
    assert result["weighted"]["f1"] == pytest.approx(0.75 * result["per_intent"]["a"]["f1"], abs=1e-4)
    assert [name for name, _ in nlu_cv.worst_first(result["per_intent"])] == ["b", "a"]


def test_confusion_adds_fallback_column():
    rows_, columns, matrix = nlu_cv.confusion(["a", "b", "b"], ["a", "nlu_fallback", "a"])
    assert rows_ == ["a", "b"] and columns == ["a", "b", "nlu_fallback"]
    assert matrix == [[1, 0, 0], [1, 0, 1]]


def test_nlu_cv_markdown_lists_worst_intent_first():
    metrics = nlu_cv.intent_metrics(["a", "a", "b", "b"], ["a", "a", "a", "b"])
    result = {"acted": metrics, "classifier": metrics, "folds": 2, "examples": 4, "intents": 2, "config": "tests/config.yml",
              "epochs": 10, "epochs_overridden": True, "train_s_mean": 5.0, "scored": 4, "picture_examples": 0,
              "fallbacks": 0, "fold_macro_f1": {"rounds": 2, "median": 0.7, "min": 0.6, "max": 0.8},
              "top_confusions": [{"gold": "b", "predicted": "a", "count": 1}]}
    info = {"cores": 2, "cpu": "x", "memory_gb": 1, "date": "2026-11-30", "load_average": [1.0]}
    text = nlu_cv.markdown(result, info, [2.0], "![c](c.png)")
    worst = text.split("worst first:")[1]
    assert worst.index("| b |") < worst.index("| a |")
    assert "with 10 DIET epochs" in text and "![c](c.png)" in text


def test_confusion_plot_is_written(tmp_path):
    link = nlu_cv.plot_confusion(["a", "b", "b"], ["a", "nlu_fallback", "b"], tmp_path)
    assert link == "![nlu_cv-confusion](nlu_cv-confusion.png)"
    assert (tmp_path / "nlu_cv-confusion.png").read_bytes()[:4] == b"\x89PNG"


def test_banking77_plot_is_written(tmp_path):
    result = {"accuracy": 0.93, "macro_f1": 0.93, "train_s": 1.0, "latency_ms": {"p50": 1.0, "p95": 2.0}}
    assert banking77.plot({"minilm-lr": result}, tmp_path).endswith("(banking77-accuracy.png)")
    assert (tmp_path / "banking77-accuracy.png").stat().st_size > 1000


def test_entity_metrics_need_type_and_characters():
    gold = [[("email", 10, 25), ("order_id", 30, 38)], [("product", 0, 7)], []]
    found = [[("email", 10, 25), ("order_id", 30, 37)], [("product", 0, 7)], [("product", 3, 9)]]
    result = nlu_cv.entity_metrics(gold, found)
    assert result["support"] == 3
    assert result["precision"] == 0.5 and result["recall"] == pytest.approx(0.6667, abs=1e-4)
    assert result["per_entity"]["email"]["f1"] == 1.0 and result["per_entity"]["order_id"]["f1"] == 0.0
    assert result["per_entity"]["product"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(0.6667, abs=1e-4),
                                               "support": 1}


def test_fallback_thresholds_from_held_out_confidences():
    gold = ["a", "a", "b", "b", "c"]
    ranked = [[("a", 0.9), ("b", 0.05)], [("a", 0.4), ("b", 0.38)], [("b", 0.7), ("a", 0.2)],
              [("a", 0.25), ("b", 0.2)], [("c", 0.6), ("a", 0.3)]]
    outcome = nlu_cv.fallback_outcome(gold, ranked, 0.3, 0.0)
    assert outcome["fallback_rate"] == 0.2 and outcome["answered_accuracy"] == 1.0
    assert nlu_cv.fallback_outcome(gold, ranked, 0.3, 0.05)["fallback_rate"] == 0.4  # 0.40 vs 0.38 too close
    chosen, grid = nlu_cv.choose_thresholds(gold, ranked, thresholds=[0.1, 0.3, 0.5], ambiguities=[0.0, 0.05])
    assert len(grid) == 6
    # 0.1 answers the wrong "a" for "b" (b's precision drops); 0.3 without ambiguity is best
    assert (chosen["threshold"], chosen["ambiguity_threshold"]) == (0.3, 0.0)
    assert chosen["accuracy"] == 0.8 and chosen["answered_accuracy"] == 1.0


def test_parley_shipped_trains_config_yml_nlu_pipeline():
    import yaml

    shipped = yaml.safe_load((banking77.ROOT / "config.yml").read_text())
    config = banking77.rasa_config("parley-shipped", None)
    assert "policies" not in config
    names = [c["name"] for c in config["pipeline"]]
    assert names == [c["name"] for c in shipped["pipeline"]]
    assert "components.linear_intent_classifier.LinearIntentClassifier" in names
    for ours, theirs in zip(config["pipeline"], shipped["pipeline"]):
        differing = {k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k)}
        assert differing <= {"timeout"}  # only the embedding request's patience
    assert not banking77.VARIANTS["parley-shipped"]["slow"]
