"""The review inbox's log, through the real server (`python -m review`): each login attempt's
outcome with a tag of the client's address (a keyed hash), access lines that keep their status and
size, and never a password or a name typed at a failed login."""
import re
import secrets
import subprocess
from typing import Iterator

import pytest
import requests

from tests import services

PYTHON = str(services.VENV_DIALOGUE / "bin" / "python")
PASSWORD = secrets.token_urlsafe(12)
TYPO = "tester" + secrets.token_hex(4)  # a name typed at a failed login (it could be a password)


@pytest.fixture(scope="module")
def inbox(tmp_path_factory) -> Iterator[services.Service]:
    folder = tmp_path_factory.mktemp("review-log")
    port = services.free_port()
    env = services.base_env(
        REVIEW_PORT=str(port), TRACKER_URL=f"sqlite:///{folder / 'tracker.db'}",
        ATTACHMENTS_DIR=str(folder / "attachments"), PARLEY_DB=str(folder / "company.db"),
        REVIEW_DB=str(folder / "review.db"), REVIEW_USERS=str(folder / "users.json"),
        REVIEW_SECRET=secrets.token_hex(16))
    added = subprocess.run([PYTHON, "-m", "review.users", "add", "tester"], input=PASSWORD + "\n",
                           env=env, cwd=services.ROOT, capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr
    server = services.Service("review-log", [PYTHON, "-m", "review"], env,
                              f"http://127.0.0.1:{port}/login").start(120)
    server.url = f"http://127.0.0.1:{port}"
    yield server
    server.stop()


def login(url: str, name: str, password: str, origin: str = "") -> requests.Response:
    headers = {"Origin": origin or url}
    return requests.post(f"{url}/login", data={"username": name, "password": password, "next": "/"},
                         headers=headers, allow_redirects=False, timeout=30)


def lines(server: services.Service, pattern: str) -> list:
    return [line for line in server.log_path.read_text(errors="replace").splitlines() if re.search(pattern, line)]


def test_each_login_outcome_is_logged_with_a_client_tag(inbox):
    url = inbox.url
    assert login(url, "tester", "wrong " + PASSWORD).status_code == 401
    assert login(url, TYPO, PASSWORD).status_code == 401
    assert login(url, "tester", PASSWORD).status_code == 303
    assert login(url, "tester", PASSWORD, origin="http://elsewhere.example").status_code == 403
    for _ in range(5):
        login(url, "tester", "wrong")
    assert login(url, "tester", PASSWORD).status_code == 429

    services.wait_until(lambda: lines(inbox, r"POST /login 429 "), "access line of the 429", 30, inbox.tail)
    refused = lines(inbox, r"review: login refused account=user-[0-9a-f]{12} client=ip-[0-9a-f]{12}$")
    assert len(refused) == 7, inbox.tail()
    assert len({line.split("account=")[1].split()[0] for line in refused}) == 2  # tester, and the typo
    [ok] = lines(inbox, r"review: login ok user=tester client=ip-[0-9a-f]{12}$")
    [cross] = lines(inbox, r"review: login refused \(cross-site\) client=ip-[0-9a-f]{12}$")
    [locked] = lines(inbox, r"review: login locked account=user-[0-9a-f]{12} client=ip-[0-9a-f]{12}$")
    clients = {line.rsplit("client=", 1)[1] for line in refused + [ok, cross, locked]}
    assert len(clients) == 1  # one address, one tag, and never the address in clear:
    assert not [line for line in lines(inbox, r"login|aiohttp.access") if "127.0.0.1" in line]

    # access lines: status and size as they are (not "[phone]"), failed and good logins tell apart
    access = lines(inbox, r"aiohttp.access: POST /login ")
    statuses = [int(re.search(r"POST /login (\d{3}) (\d+) \d+\.\d{3}s client=ip-[0-9a-f]{12}$", line).group(1))
                for line in access]
    assert statuses.count(401) == 7 and statuses.count(303) == 1 and statuses.count(403) == 1 \
        and statuses.count(429) == 1, access
    text = inbox.log_path.read_text(errors="replace")
    assert "[phone]" not in text and PASSWORD not in text and TYPO not in text
