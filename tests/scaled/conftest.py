"""Scale-out fixtures: a PostgreSQL database of this module (parley_test_<hex> on the session's
`postgres`, created by Rasa through PG_LOGIN_DB, dropped at the end) reached through a TcpProxy
the tests can stop, a key prefix of this module on the session's Redis (`redis_url`), one action
server and two Rasa instances on endpoints.scaled.yml."""
from __future__ import annotations

import secrets
from typing import Dict, Iterator, List

import pytest
import requests

from tests import services
from tests.scaled.tcp_proxy import TcpProxy


class Instance:
    """One Rasa instance; `restart()` stops it and starts it again on the same port."""

    def __init__(self, name: str, start, wait: bool = True) -> None:
        self.name = name
        self._start = start
        self.port = services.free_port()
        self.service = start(name, self.port, wait)  # wait=False: launched, see start_together
        self.url = f"http://127.0.0.1:{self.port}"

    def restart(self) -> None:
        self.service.stop()
        self.service = self._start(self.name, self.port, True)

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
                               headers=services.channel_auth(),
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
def cluster(trained_model, perception_url, rasa_token, postgres, redis_url,
            tmp_path_factory) -> Iterator[Cluster]:
    import redis

    tag = secrets.token_hex(4)
    database = f"parley_test_{tag}"
    prefix = f"test{tag}"
    store = redis.Redis.from_url(redis_url)
    proxy = TcpProxy(postgres.host, postgres.port, services.free_port()).start()
    folder = tmp_path_factory.mktemp("scaled")
    db = services.seed_db(folder / "company.db")
    actions = services.start_actions("scaled-actions", db, perception_url, wait=False)
    actions_url = actions.health_url.rsplit("/health", 1)[0]
    address = store.connection_pool.connection_kwargs
    env = dict(postgres.env(database), PG_HOST="127.0.0.1", PG_PORT=str(proxy.port),
               REDIS_HOST=str(address.get("host", "127.0.0.1")), REDIS_PORT=str(address.get("port", 6379)),
               REDIS_DB=str(address.get("db", 0)), REDIS_PASSWORD=address.get("password") or "",
               REDIS_KEY_PREFIX=prefix,
               # 300 messages from one address in a minute: rate limits are tested elsewhere
               PARLEY_RATE_TEXT_PER_MIN="0", PARLEY_RATE_MEDIA_PER_MIN="0",
               PARLEY_RATE_ADDRESS_PER_MIN="0", PARLEY_RATE_ADDRESS_MEDIA_PER_MIN="0")

    def start(name: str, port: int, wait: bool) -> services.Service:
        return services.start_rasa(name, trained_model, actions_url, perception_url,
                                   folder / "unused.db", rasa_token, extra_env=env,
                                   endpoints="endpoints.scaled.yml", port=port,
                                   attachments_dir=folder / "attachments", wait=wait)

    instances: List[Instance] = []
    try:
        for number in (1, 2):  # both instances and the action server start at once
            instances.append(Instance(f"scaled-rasa-{number}", start, wait=False))
        services.start_together(actions, *(instance.service for instance in instances))
        yield Cluster(instances, rasa_token, proxy, database, env)
    finally:
        for instance in instances:
            instance.service.stop()
        actions.stop()
        proxy.stop()
        postgres.drop_database(database)
        for key in store.scan_iter(f"{prefix}*"):
            store.delete(key)
