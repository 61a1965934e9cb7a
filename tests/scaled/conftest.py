"""Scale-out fixtures: a PostgreSQL database of this session (parley_test_<hex>, created by Rasa
through PG_LOGIN_DB, dropped at the end) reached through a TcpProxy the tests can stop, a Redis
key prefix of this session, one action server and two Rasa instances on endpoints.scaled.yml."""
from __future__ import annotations

import secrets
from typing import Dict, Iterator, List

import pytest
import requests

from tests import services
from tests.scaled.tcp_proxy import TcpProxy

PG_HOST, PG_PORT, REDIS_PORT, REDIS_DB = "127.0.0.1", 5432, 6379, 1


class Instance:
    """One Rasa instance; `restart()` stops it and starts it again on the same port."""

    def __init__(self, name: str, start) -> None:
        self.name = name
        self._start = start
        self.port = services.free_port()
        self.service = start(name, self.port)
        self.url = f"http://127.0.0.1:{self.port}"

    def restart(self) -> None:
        self.service.stop()
        self.service = self._start(self.name, self.port)

    def log(self) -> str:
        return self.service.log_path.read_text(errors="replace")


class Cluster:
    def __init__(self, instances: List[Instance], token: str, proxy: TcpProxy, database: str,
                 env: Dict[str, str]) -> None:
        self.instances = instances
        self.token = token
        self.proxy = proxy
        self.database = database
        self.env = env

    def say(self, index: int, sender: str, text: str) -> list:
        answer = requests.post(f"{self.instances[index].url}/webhooks/rest/webhook",
                               json={"sender": sender, "message": text}, timeout=120)
        answer.raise_for_status()
        return answer.json()

    def tracker(self, sender: str, index: int = 0) -> dict:
        answer = requests.get(f"{self.instances[index].url}/conversations/{sender}/tracker",
                              params={"token": self.token}, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def user_texts(self, sender: str, index: int = 0) -> List[str]:
        return [e["text"] for e in self.tracker(sender, index)["events"] if e["event"] == "user"]


@pytest.fixture(scope="module")
def cluster(trained_model, perception_url, rasa_token, tmp_path_factory) -> Iterator[Cluster]:
    import redis

    tag = secrets.token_hex(4)
    database = f"parley_test_{tag}"
    prefix = f"test{tag}"
    proxy = TcpProxy(PG_HOST, PG_PORT, services.free_port()).start()
    folder = tmp_path_factory.mktemp("scaled")
    db = services.seed_db(folder / "company.db")
    actions = services.start_actions("scaled-actions", db, perception_url)
    actions_url = actions.health_url.rsplit("/health", 1)[0]
    env = dict(PG_HOST="127.0.0.1", PG_PORT=str(proxy.port), PG_DB=database, PG_USER="postgres",
               PG_PASSWORD="", PG_LOGIN_DB="postgres", REDIS_HOST="127.0.0.1",
               REDIS_PORT=str(REDIS_PORT), REDIS_DB=str(REDIS_DB), REDIS_PASSWORD="",
               REDIS_KEY_PREFIX=prefix,
               # 300 messages from one address in a minute: rate limits are tested elsewhere
               PARLEY_RATE_TEXT_PER_MIN="0", PARLEY_RATE_MEDIA_PER_MIN="0",
               PARLEY_RATE_ADDRESS_PER_MIN="0", PARLEY_RATE_ADDRESS_MEDIA_PER_MIN="0")

    def start(name: str, port: int) -> services.Service:
        return services.start_rasa(name, trained_model, actions_url, perception_url,
                                   folder / "unused.db", rasa_token, extra_env=env,
                                   endpoints="endpoints.scaled.yml", port=port,
                                   attachments_dir=folder / "attachments")

    instances: List[Instance] = []
    try:
        for number in (1, 2):
            instances.append(Instance(f"scaled-rasa-{number}", start))
        yield Cluster(instances, rasa_token, proxy, database, env)
    finally:
        for instance in instances:
            instance.service.stop()
        actions.stop()
        proxy.stop()
        services.drop_database(database)
        client = redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=REDIS_DB)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
