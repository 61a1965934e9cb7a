"""Session fixtures: the real perception service, a trained model, the action server, Rasa."""
import secrets
from typing import Iterator

import pytest

from tests import services


@pytest.fixture(scope="session")
def perception_url() -> Iterator[str]:
    service = services.start_perception()
    yield service.health_url.rsplit("/health", 1)[0]
    service.stop()


@pytest.fixture(scope="session")
def trained_model(perception_url: str) -> str:
    return services.train_model("tests/config.yml", perception_url)


@pytest.fixture(scope="session")
def rasa_token() -> str:
    return secrets.token_urlsafe(16)
