"""Fixtures for the knowledge library: the real pack files, ours and the shared reference."""
from pathlib import Path

import pytest

from knowledge.pack import CompanyPack
from knowledge.records import RecordStore

ROOT = Path(__file__).resolve().parents[2]
OUR_PACK = ROOT / "packs" / "brightwave"


def shared_pack_dir() -> Path:
    """The read-only reference pack, beside the checkout (or inside it on some machines)."""
    for candidate in (ROOT.parent / "shared" / "company", ROOT / "shared" / "company"):
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared" / "company"


PACK_DIRS = [
    pytest.param(OUR_PACK, id="ours"),
    pytest.param(shared_pack_dir(), id="shared"),
]


@pytest.fixture(scope="session", params=PACK_DIRS)
def pack_dir(request) -> Path:
    path = request.param
    if not path.is_dir():
        pytest.skip(f"reference pack not present: {path}")
    return path


@pytest.fixture(scope="session")
def pack(pack_dir) -> CompanyPack:
    return CompanyPack.load(pack_dir)


@pytest.fixture(scope="session")
def our_pack() -> CompanyPack:
    return CompanyPack.load(OUR_PACK)


@pytest.fixture
def store(tmp_path, pack) -> RecordStore:
    store = RecordStore(tmp_path / "company.db")
    store.seed(pack)
    return store
