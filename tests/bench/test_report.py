"""bench.common and bench.report: sections written by the contract are joined in order, their
figures merged into figures.json, and the published copy links its plots under docs/benchmarks/."""
import json

from bench import report, run
from bench.common import md_table, percentile, spread, summary, write_section


def test_percentiles_and_spread():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.95) == 95.0
    assert summary([0.2, 0.1, 0.3])["p50"] == 0.2
    assert summary([])["n"] == 0
    rerun = spread([1.0, 1.2, 0.9])
    assert rerun["median"] == 1.0 and rerun["min"] == 0.9 and rerun["max"] == 1.2
    assert rerun["relative_range"] == 0.3


def test_md_table_aligns_numbers_right():
    table = md_table(["engine", "WER"], [["base", "0.059"], ["tiny.en", "0.105"]])
    assert table.splitlines()[1] == "| --- | --: |"
    assert "| tiny.en | 0.105 |" in table


def test_report_joins_sections_in_order_and_publishes(tmp_path):
    results, docs = tmp_path / "results", tmp_path / "docs"
    write_section("ocr", "OCR", {"cer": {"clean": 0.02}}, "ocr table\n\n![ocr-cer](ocr-cer.png)", results)
    write_section("banking77", "BANKING77", {"accuracy": 0.93}, "banking table", results)
    (results / "ocr-cer.png").write_bytes(b"\x89PNG fake")
    (results / "runs.json").write_text(json.dumps({"mode": "quick", "seconds": 60, "sections": [
        {"module": "banking77", "exit": 0, "seconds": 30}, {"module": "ocr", "exit": 2, "seconds": 30}]}))

    text = report.write(results).read_text()
    assert text.index("banking table") < text.index("ocr table")  # the report's order, not the files'
    assert "`ocr` (exit 2" in text
    assert "cores" in text.splitlines()[2] and "load at the end" in text
    figures = json.loads((results / "figures.json").read_text())
    assert figures["banking77"]["figures"] == {"accuracy": 0.93}
    assert figures["ocr"]["machine"]["cores"] >= 1

    published = report.publish(results, docs).read_text()
    assert "](benchmarks/ocr-cer.png)" in published
    assert (docs / "benchmarks" / "ocr-cer.png").exists()
    assert (docs / "benchmarks" / "figures.json").exists()


def test_make_bench_leaves_the_full_only_sections_to_bench_full():
    normal = [module for module, _ in run.chosen([], full=False)]
    assert "multimodal_ablation" not in normal and {"banking77", "speech", "e2e", "load"} <= set(normal)
    assert "multimodal_ablation" in [module for module, _ in run.chosen([], full=True)]
    assert run.chosen(["ocr"], full=False) == [("ocr", run.PERCEPTION)]
