"""Fault fixtures: one real assistant (Rasa on endpoints.scaled.yml, the real action server and
perception service) whose neighbours the tests can take down or slow:

- the action server behind a DelayProxy (stop: down, connection refused; delay: slow);
- the perception service behind another DelayProxy (delay: slow);
- a redis-server of this session on a free port (never the machine's Redis), the lock store;
- a PostgreSQL database parley_faults_<hex> on the session's `postgres` (created by Rasa
  through PG_LOGIN_DB, dropped at the end), the tracker store.

Rasa runs with the shipped credentials.yml (perception_timeout 20 s) and PARLEY_ACTION_TIMEOUT=6
(shipped default 10 s), so a slow action server costs the tests seconds."""
from __future__ import annotations

import secrets
from typing import Iterator
from urllib.parse import urlparse

import pytest
import requests

from tests import services
from tests.conftest import Assistant
from tests.faults.delay_proxy import DelayProxy
from tests.redis_server import RedisServer

ACTION_TIMEOUT_S = 6


class FaultyAssistant(Assistant):
    def __init__(self, rasa, token, db_path, attachments_dir, actions_proxy: DelayProxy,
                 perception_proxy: DelayProxy, redis_server: RedisServer, key_prefix: str) -> None:
        super().__init__(rasa, token, db_path, attachments_dir)
        self.rasa = rasa
        self.actions_proxy = actions_proxy
        self.perception_proxy = perception_proxy
        self.redis = redis_server
        self.key_prefix = key_prefix

    def post(self, sender: str, text: str) -> requests.Response:
        """The REST channel's raw answer (the status code matters)."""
        return requests.post(f"{self.url}/webhooks/rest/webhook", headers=services.channel_auth(),
                             json={"sender": sender, "message": text}, timeout=180)

    def events(self, sender: str) -> list:
        return self.tracker(sender)["events"]

    def log(self) -> str:
        return self.rasa.log_path.read_text(errors="replace")


@pytest.fixture(scope="session")
def faulty(trained_model, perception_url, rasa_token, postgres,
           tmp_path_factory) -> Iterator[FaultyAssistant]:
    tag = secrets.token_hex(4)
    database, prefix = f"parley_faults_{tag}", f"faults{tag}"
    folder = tmp_path_factory.mktemp("faults")
    services.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    redis_server = RedisServer(folder / "redis").start()
    target = urlparse(perception_url)
    perception_proxy = DelayProxy(target.hostname, target.port, services.free_port()).start()
    db = services.seed_db(folder / "company.db")
    actions = services.start_actions("faults-actions", db, perception_url, wait=False)
    actions_target = urlparse(actions.health_url)
    actions_proxy = DelayProxy(actions_target.hostname, actions_target.port, services.free_port()).start()
    env = dict(postgres.env(database), REDIS_HOST="127.0.0.1",
               REDIS_PORT=str(redis_server.port), REDIS_DB="0", REDIS_PASSWORD="",
               REDIS_KEY_PREFIX=prefix, PARLEY_ACTION_TIMEOUT=str(ACTION_TIMEOUT_S),
               PARLEY_RATE_TEXT_PER_MIN="0", PARLEY_RATE_MEDIA_PER_MIN="0",
               PARLEY_RATE_ADDRESS_PER_MIN="0", PARLEY_RATE_ADDRESS_MEDIA_PER_MIN="0")
    rasa = None
    try:
        rasa = services.start_rasa("faults-rasa", trained_model, actions_proxy.url,
                                   perception_proxy.url, folder / "unused.db", rasa_token,
                                   attachments_dir=folder / "attachments", extra_env=env,
                                   endpoints="endpoints.scaled.yml", wait=False)
        services.start_together(actions, rasa)  # both start at once
        yield FaultyAssistant(rasa, rasa_token, db, folder / "attachments", actions_proxy,
                              perception_proxy, redis_server, prefix)
    finally:
        if rasa is not None:
            rasa.stop()
        actions.stop()
        actions_proxy.stop()
        perception_proxy.stop()
        redis_server.stop()
        postgres.drop_database(database)


@pytest.fixture
def healthy(faulty) -> Iterator[FaultyAssistant]:
    """The faulty assistant with every neighbour up and fast, before and after the test."""

    def heal() -> None:
        faulty.actions_proxy.delay = 0
        faulty.perception_proxy.delay = 0
        if faulty.actions_proxy._server is None:
            faulty.actions_proxy.start()
        if faulty.redis.process is None:
            faulty.redis.start()

    heal()
    yield faulty
    heal()
