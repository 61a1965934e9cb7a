"""Session fixtures: the real perception service, a trained model, the action server, Rasa,
PostgreSQL and Redis (throwaway servers of the session's own unless the caller names some), and
the pictures customers send (made once per run)."""
import json
import secrets
from pathlib import Path
from typing import Dict, Iterator

import pytest

from tests import postgres_server, redis_server, services


def pytest_sessionstart(session) -> None:
    services.ARTIFACTS.mkdir(parents=True, exist_ok=True)  # this worker's logs (tests/services.py)


# The longest files first (measured with --durations on 2 cores: the lifecycle retrainings take
# about 13 minutes, the browser and voice-call files several): pytest-xdist hands whole files to
# the workers in collection order, and a long file handed out last leaves the other core idle.
SLOW_FIRST = ("tests/lifecycle/test_lifecycle.py", "tests/lifecycle/test_multi_promote.py",
              "tests/webchat/test_webchat_browser.py", "tests/voice/test_call.py",
              "tests/voice/test_page_browser.py", "tests/scaled/", "tests/e2e/test_many_pictures.py",
              "tests/offline/")


def pytest_collection_modifyitems(session, config, items) -> None:
    def rank(item) -> int:
        return next((i for i, prefix in enumerate(SLOW_FIRST) if item.nodeid.startswith(prefix)),
                    len(SLOW_FIRST))

    items.sort(key=rank)  # stable: the order inside each file, and of the other files, is kept


@pytest.fixture(scope="session")
def perception_url() -> Iterator[str]:
    service = services.start_perception()
    yield service.health_url.rsplit("/health", 1)[0]
    service.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[postgres_server.Postgres]:
    """PostgreSQL (tests/postgres_server.py): the server PG_* named when `make test` started, else
    a throwaway one of this session's own. Tests create and drop databases of their own on it."""
    server = postgres_server.given_or_started()
    yield server
    if isinstance(server, postgres_server.PostgresServer):
        server.stop()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """Redis for tests that use it without stopping it: REDIS_URL when the caller names one, else a
    redis-server of this session's own (tests that take Redis down start their own RedisServer)."""
    url, server = redis_server.given_or_started(tmp_path_factory.mktemp("redis"))
    yield url
    if server is not None:
        server.stop()


@pytest.fixture(scope="session")
def trained_model(perception_url: str) -> str:
    return services.train_model("tests/config.yml", perception_url)


@pytest.fixture(scope="session")
def rasa_token() -> str:
    return secrets.token_hex(16)


class Assistant:
    """The running assistant as the company's back end (REST and multimodal channels, with the
    channel secret) and an operator (HTTP API) see it."""

    def __init__(self, rasa: "services.Service", token: str, db_path, attachments_dir=None,
                 tracker_db=None) -> None:
        self.url = rasa.health_url.rstrip("/")
        self.token = token
        self.db_path = db_path
        self.attachments_dir = attachments_dir  # where the multimodal channel stores files
        self.tracker_db = tracker_db  # Rasa's SQLite tracker store (the review inbox reads it)

    def say(self, sender: str, text: str) -> list:
        import requests

        response = requests.post(f"{self.url}/webhooks/rest/webhook", headers=services.channel_auth(),
                                 json={"sender": sender, "message": text}, timeout=60)
        response.raise_for_status()
        return response.json()

    def texts(self, sender: str, text: str) -> str:
        """Everything the bot answered to one message, as one lowercase string."""
        return " ".join(m.get("text", "") for m in self.say(sender, text)).lower()

    def send(self, sender, text=None, files=(), metadata=None, timeout: float = 120):
        """POST to the multimodal channel (multipart): `files` are (name, bytes) pairs or bytes;
        `metadata` a dict (sent as JSON) or a str (sent as it is). Returns the requests.Response."""
        import json

        import requests

        fields = {}
        if sender is not None:
            fields["sender"] = sender
        if text is not None:
            fields["message"] = text
        if metadata is not None:
            fields["metadata"] = metadata if isinstance(metadata, str) else json.dumps(metadata)
        parts = [(name, (None, value)) for name, value in fields.items()]
        for number, item in enumerate(files, start=1):
            name, data = item if isinstance(item, tuple) else (f"file{number}", item)
            parts.append(("attachment", (name, data, "application/octet-stream")))
        return requests.post(f"{self.url}/webhooks/multimodal/webhook", files=parts, timeout=timeout,
                             headers=services.channel_auth())  # as the company's back end

    def tracker(self, sender: str) -> dict:
        import requests

        response = requests.get(f"{self.url}/conversations/{sender}/tracker",
                                params={"token": self.token}, timeout=30)
        response.raise_for_status()
        return response.json()


def _start_assistant(name: str, model: str, perception: str, token: str, tmp_path_factory):
    folder = tmp_path_factory.mktemp(name)
    db = services.seed_db(folder / "company.db")
    actions = services.start_actions(f"{name}-actions", db, perception, wait=False)
    actions_url = actions.health_url.rsplit("/health", 1)[0]
    rasa = services.start_rasa(f"{name}-rasa", model, actions_url, perception,
                               folder / "tracker.db", token, attachments_dir=folder / "attachments",
                               wait=False)
    services.start_together(actions, rasa)
    return Assistant(rasa, token, db, folder / "attachments", folder / "tracker.db"), [rasa, actions]


@pytest.fixture(scope="session")
def assistant(trained_model, perception_url, rasa_token, tmp_path_factory) -> Iterator[Assistant]:
    running, processes = _start_assistant("assistant", trained_model, perception_url, rasa_token,
                                          tmp_path_factory)
    yield running
    for process in processes:
        process.stop()


@pytest.fixture(scope="module")
def assistant_without_perception(trained_model, rasa_token, tmp_path_factory) -> Iterator[Assistant]:
    """The same assistant with its perception service down (an address where nothing listens)."""
    running, processes = _start_assistant("no-perception", trained_model, services.closed_url(),
                                          rasa_token, tmp_path_factory)
    yield running
    for process in processes:
        process.stop()


@pytest.fixture(scope="session")
def pictures(tmp_path_factory) -> Path:
    """Screenshots, statements and product photos made by tests/e2e/multimodal_material.py, with
    what they show in expected.json (the `expected` fixture)."""
    return services.make_material("tests/e2e/multimodal_material.py",
                                  tmp_path_factory.mktemp("multimodal-pictures"))


@pytest.fixture(scope="session")
def expected(pictures) -> Dict:
    return json.loads((pictures / "expected.json").read_text())
