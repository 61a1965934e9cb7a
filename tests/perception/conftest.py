"""Image material shared by the OCR, image and client tests (made once per session)."""
import pytest

from tests.perception import image_material as im


@pytest.fixture(scope="session")
def material(tmp_path_factory):
    return im.material(tmp_path_factory)


@pytest.fixture(scope="session")
def want(material):
    return im.expected(material)
