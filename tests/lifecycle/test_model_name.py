"""scripts/model_name.sh: the trained model's name is a fingerprint of everything the model
depends on, the company pack included, so `COMPANY_DIR=/srv/acme make run` trains a model of its
own instead of reusing Brightwave's. The pack's records (orders, customers) are read at run time
by the actions and don't retrain."""
import shutil
import subprocess

import pytest

from tests import services

PACK = services.ROOT / "packs" / "brightwave"


def model_name(company_dir, config: str = "tests/config.yml") -> str:
    result = subprocess.run(["scripts/model_name.sh", config], cwd=services.ROOT, text=True,
                            capture_output=True, timeout=120,
                            env=services.base_env(COMPANY_DIR=str(company_dir)))
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def pack(tmp_path):
    copy = tmp_path / "acme"
    shutil.copytree(PACK, copy)
    return copy


def test_same_pack_in_another_folder_gives_the_same_model(pack):
    name = model_name(PACK)
    assert name.startswith("models/parley-tests-config-") and name.endswith(".tar.gz")
    assert model_name(pack) == name


@pytest.mark.parametrize("file", ["error_codes.csv", "products.csv", "pack.yml", "faq.md"])
def test_a_changed_pack_file_that_features_read_gives_a_new_model(pack, file):
    before = model_name(pack)
    with (pack / file).open("a", encoding="utf-8") as handle:
        handle.write("\n# changed\n" if file.endswith((".yml", ".md")) else "")
        if file.endswith(".csv"):
            header = (pack / file).read_text(encoding="utf-8").splitlines()[0]
            handle.write(",".join("X" for _ in header.split(",")) + "\n")
    assert model_name(pack) != before


def test_changed_records_keep_the_model(pack):
    before = model_name(pack)
    with (pack / "orders.csv").open("a", encoding="utf-8") as handle:
        handle.write((pack / "orders.csv").read_text(encoding="utf-8").splitlines()[-1] + "\n")
    assert model_name(pack) == before


def test_another_config_gives_another_model():
    assert model_name(PACK, "config.yml") != model_name(PACK, "tests/config.yml")
