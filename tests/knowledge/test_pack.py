"""CompanyPack on the real pack files: catalogue, error codes, passages, settings, agent hours."""
import re
import subprocess
import sys
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from knowledge.pack import DEFAULT_SETTINGS, CompanyPack, default_pack_dir, parse_faq, parse_sections
from tests.knowledge.conftest import OUR_PACK, ROOT, shared_pack_dir

EASTERN = ZoneInfo("America/New_York")


# ---------------------------------------------------------------- loading


def test_loads_catalogue_and_codes(pack):
    assert pack.name == "Brightwave Electronics"
    assert len(pack.products) == 24
    aero = pack.product_by_sku("BW-LT-1401")
    assert aero.name == "Brightwave Aero 14 Laptop"
    assert aero.price_usd == 899.0 and aero.warranty_months == 24
    assert len(pack.error_codes) == 18
    assert pack.error_code("BW-B99").escalate is True
    assert pack.error_code("BW-2002").escalate is False


def test_default_pack_dir_follows_company_dir(monkeypatch, tmp_path):
    monkeypatch.delenv("COMPANY_DIR", raising=False)
    assert default_pack_dir() == OUR_PACK
    monkeypatch.setenv("COMPANY_DIR", str(tmp_path))
    assert default_pack_dir() == tmp_path


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        CompanyPack.load(tmp_path / "nope")


def test_settings_file_matches_the_defaults():
    """pack.yml and the built-in defaults carry the same values, so a pack without
    pack.yml (like the shared reference) behaves exactly like ours."""
    assert CompanyPack.load(OUR_PACK).settings == DEFAULT_SETTINGS


def test_settings_values(pack):
    s = pack.settings
    assert s["company"]["support_phone"] == "1-800-555-0199"
    assert s["agents"]["timezone"] == "America/New_York"
    assert s["agents"]["hours"]["sun"] is None
    assert s["agents"]["hours"]["sat"] == ["09:00", "17:00"]
    assert s["returns"]["window_days"] == 30 and s["returns"]["label_dropoff_days"] == 7
    assert s["claims"] == {"damaged_report_hours": 48, "damaged_agent_threshold_usd": 500,
                           "missing_parcel_wait_hours": 24}
    assert s["orders"]["cancellable_statuses"] == ["processing"]
    assert s["orders"]["address_changeable_statuses"] == ["processing"]
    assert s["refunds"]["card_business_days"] == [5, 7] and s["refunds"]["pay_business_days"] == 1
    assert s["refunds"]["inspection_business_days"] == 2
    assert s["pay"]["installment_day_of_month"] == 5 and s["pay"]["installment_min_usd"] == 200
    assert s["pay"]["plan_months"] == [3, 6, 12]
    assert pack.is_order_id("BW-723241") and not pack.is_order_id("BW-72324")


def test_partial_pack_yml_keeps_other_defaults(tmp_path):
    for name in ("products.csv", "error_codes.csv", "faq.md"):
        (tmp_path / name).write_text((OUR_PACK / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "pack.yml").write_text("company:\n  name: Acme\nreturns:\n  window_days: 60\n")
    pack = CompanyPack.load(tmp_path)
    assert pack.name == "Acme"
    assert pack.settings["returns"]["window_days"] == 60
    assert pack.settings["returns"]["label_dropoff_days"] == 7
    assert pack.settings["company"]["support_phone"] == "1-800-555-0199"
    assert {p.source for p in pack.passages} == {"faq"}


@pytest.mark.parametrize("identity", ["max_failures: 0", "lock_minutes: thirty", "verified_idle_minutes: 1.5",
                                      "failures_kept_hours: 1\n  lock_minutes: 90"])
def test_identity_limits_are_checked(tmp_path, identity):
    """A typo in the identity-check limits stops the pack from loading instead of switching the
    lockout off (actions/attempts.py)."""
    for name in ("products.csv", "error_codes.csv"):
        (tmp_path / name).write_text((OUR_PACK / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "pack.yml").write_text(f"identity:\n  {identity}\n")
    with pytest.raises(ValueError, match="identity"):
        CompanyPack.load(tmp_path)
    (tmp_path / "pack.yml").write_text("identity:\n  max_failures: 3\n")
    assert CompanyPack.load(tmp_path).settings["identity"]["max_failures"] == 3


def test_return_rules(pack):
    laptop = pack.return_rule(pack.product_by_sku("BW-LT-1401"))
    assert laptop.window_days == 15 and laptop.returnable
    assert any("carrier" in c for c in laptop.conditions)
    assert pack.return_rule(pack.product_by_sku("BW-PH-0612")).window_days == 15
    buds = pack.return_rule(pack.product_by_sku("BW-EB-0202"))  # in-ear
    assert buds.window_days == 30 and buds.not_returnable_when == ["the hygiene seal is broken"]
    hush = pack.return_rule(pack.product_by_sku("BW-HP-0301"))  # over-ear
    assert hush.window_days == 30 and hush.not_returnable_when == [] and hush.conditions == []


# ---------------------------------------------------------------- products


@pytest.mark.parametrize("text, sku", [
    ("aero 14", "BW-LT-1401"),
    ("Aero14", "BW-LT-1401"),
    ("refurbished aero 14", "BW-RF-1401"),
    ("hush pro", "BW-HP-0301"),
    ("my hush pro headphones won't charge", "BW-HP-0301"),
    ("vista 65 tv", "BW-TV-6504"),
    ("chromebok", "NV-LT-1305"),
    ("the stride smartwach keeps disconnecting", "BW-WT-0044"),
    ("espreso machine", "NV-CF-0012"),
    ("Sonora speaker", "SN-SP-0101"),
    ("mesh add-on node", "BW-RT-0301"),
    ("what about BW-TB-1101?", "BW-TB-1101"),
])
def test_find_product(pack, text, sku):
    product = pack.find_product(text)
    assert product is not None and product.sku == sku


@pytest.mark.parametrize("text", [
    "what's the weather in Paris",
    "can I view my order",
    "I have 2 questions",
    "my order BW-723241 is late",
    "a new laptop please",      # a category, not a product
    "galaxy s24",
    "vista tv",                 # 55 or 65: ambiguous, the caller asks
    "",
])
def test_find_product_none(pack, text):
    assert pack.find_product(text) is None


def test_find_products_lists_the_candidates(pack):
    names = [p.name for p, _ in pack.find_products("vista tv")]
    assert sorted(names) == ["Brightwave Vista 55 4K TV", "Brightwave Vista 65 4K TV"]


# ---------------------------------------------------------------- error codes


def test_alias_from_screen_text(pack):
    assert pack.error_code("BW-S12").aliases == ["E12"]
    assert pack.error_code("BW-R01").aliases == []
    assert pack.error_code("BW-5003").aliases == []


@pytest.mark.parametrize("text, code", [
    ("BW-2002", "BW-2002"),
    ("it says bw-r01 and the light is red", "BW-R01"),
    ("BW 2002", "BW-2002"),
    ("bw2002", "BW-2002"),
    ("Error E12", "BW-S12"),
    ("my speaker says error e12", "BW-S12"),
    ("E-12 on the echoes", "BW-S12"),
    ("Battery temperature too high (BW-B99).", "BW-B99"),
])
def test_find_error_code(pack, text, code):
    found = pack.find_error_code(text)
    assert found is not None and found.code == code


@pytest.mark.parametrize("text", ["BW-9999", "BW-20021", "order BW-723241", "E120", "hello", ""])
def test_find_error_code_none(pack, text):
    assert pack.find_error_code(text) is None


# ---------------------------------------------------------------- passages


def test_passages_present(pack):
    by_source = {}
    for passage in pack.passages:
        by_source.setdefault(passage.source, []).append(passage)
    assert set(by_source) == {"faq", "policies", "company", "statements"}
    assert len(by_source["faq"]) == 25
    assert len({p.id for p in pack.passages}) == len(pack.passages)
    for passage in by_source["faq"]:
        assert passage.text.startswith(passage.title) and passage.body and passage.body in passage.text
    for passage in by_source["policies"] + by_source["company"]:
        assert passage.text.startswith(f"{passage.title}: ") and passage.body
    titles = {p.title for p in by_source["policies"]}
    assert {"Returns", "Refunds", "Shipping", "Cancellations", "Warranty", "Brightwave Pay"} <= titles
    assert len([p for p in by_source["policies"] if p.title == "Returns"]) == 4
    assert any("BW-R02" in p.text for p in by_source["faq"])


def test_both_packs_have_the_same_structure():
    shared = shared_pack_dir()
    if not shared.is_dir():
        pytest.skip("reference pack not present")
    ours, theirs = CompanyPack.load(OUR_PACK), CompanyPack.load(shared)

    def shape(pack):
        return [(p.source, p.title if p.source != "faq" else "") for p in pack.passages]

    assert shape(ours) == shape(theirs)


NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


@pytest.mark.parametrize("name", ["company.md", "policies.md", "faq.md", "statements.md"])
def test_rewritten_prose_keeps_every_number(name):
    """Our prose is reworded, but every number of the reference (prices, days, hours,
    codes, phone) is still there, and none is invented."""
    shared = shared_pack_dir() / name
    if not shared.is_file():
        pytest.skip("reference pack not present")
    theirs = set(NUMBER.findall(shared.read_text(encoding="utf-8")))
    ours = set(NUMBER.findall((OUR_PACK / name).read_text(encoding="utf-8")))
    assert theirs == ours


def test_rewritten_prose_shares_no_sentence():
    shared = shared_pack_dir()
    if not shared.is_dir():
        pytest.skip("reference pack not present")
    for name in ("company.md", "policies.md", "faq.md", "statements.md"):
        def sentences(path):
            text = re.sub(r"\s+", " ", path.read_text(encoding="utf-8"))
            return {s.strip() for s in re.split(r"(?<=[.!?])\s", text) if len(s.split()) >= 8}
        common = sentences(shared / name) & sentences(OUR_PACK / name)
        assert not common, f"{name}: {common}"


def test_parsers_on_small_markdown():
    assert parse_faq("# T\n\n**A?**\nOne\ntwo.\n\n**B?**\nThree.\n") == [("A?", "One two."), ("B?", "Three.")]
    title, sections = parse_sections("# Doc\n\nIntro line.\n\n## S1\n- a\n  b\n- c\n\n## S2\nPara.\n")
    assert title == "Doc"
    assert sections == [("Doc", ["Intro line."]), ("S1", ["a b", "c"]), ("S2", ["Para."])]


# ---------------------------------------------------------------- agent hours


def test_tuesday_morning_is_open(pack):
    assert pack.agent_available(datetime(2026, 12, 1, 10, 0, tzinfo=EASTERN))  # a Tuesday
    assert pack.agent_available(datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc))  # same instant
    assert pack.next_agent_time(datetime(2026, 12, 1, 10, 0, tzinfo=EASTERN)) == \
        datetime(2026, 12, 1, 10, 0, tzinfo=EASTERN)


def test_sunday_is_closed_until_monday_eight(pack):
    sunday = datetime(2026, 11, 29, 12, 0, tzinfo=EASTERN)
    assert not pack.agent_available(sunday)
    nxt = pack.next_agent_time(sunday)
    assert nxt == datetime(2026, 11, 30, 8, 0, tzinfo=EASTERN)
    assert nxt.weekday() == 0 and nxt.utcoffset() is not None


@pytest.mark.parametrize("when, open_, nxt", [
    (datetime(2026, 12, 4, 19, 59), True, datetime(2026, 12, 4, 19, 59)),   # Friday
    (datetime(2026, 12, 4, 20, 0), False, datetime(2026, 12, 5, 9, 0)),     # Fri close -> Sat 9
    (datetime(2026, 12, 5, 9, 0), True, datetime(2026, 12, 5, 9, 0)),       # Saturday opening
    (datetime(2026, 12, 5, 17, 0), False, datetime(2026, 12, 7, 8, 0)),     # Sat close -> Mon 8
    (datetime(2026, 12, 1, 7, 59), False, datetime(2026, 12, 1, 8, 0)),     # Tue before opening
    (datetime(2026, 7, 7, 8, 30), True, datetime(2026, 7, 7, 8, 30)),       # summer time
])
def test_agent_hours_edges(pack, when, open_, nxt):
    local = when.replace(tzinfo=EASTERN)
    assert pack.agent_available(local) is open_
    assert pack.next_agent_time(local) == nxt.replace(tzinfo=EASTERN)
    # a naive datetime is read as the pack's local time
    assert pack.agent_available(when) is open_


def test_summer_time_uses_eastern_daylight(pack):
    assert pack.agent_available(datetime(2026, 7, 7, 12, 0, tzinfo=timezone.utc))      # 08:00 EDT
    assert not pack.agent_available(datetime(2026, 7, 7, 11, 59, tzinfo=timezone.utc))  # 07:59 EDT


# ---------------------------------------------------------------- import


def test_import_does_no_io(tmp_path):
    db = tmp_path / "sub" / "company.db"
    code = "import knowledge, knowledge.pack, knowledge.records, knowledge.search, knowledge.seed"
    env = {"PARLEY_DB": str(db), "COMPANY_DIR": str(tmp_path / "nowhere"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True)
    assert result.returncode == 0, result.stderr.decode()
    assert not db.parent.exists()
