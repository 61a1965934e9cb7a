"""The running Rasa server, through its authenticated HTTP API (`rasa run --enable-api
--auth-token ...`): PUT /model loads an archive from this machine's disk, GET /status says which
one is served (model_file is the archive's file name, so registry archives have unique names)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import requests

LOAD_TIMEOUT = 900  # seconds: PUT /model returns when the new model is loaded


class ServingError(Exception):
    """Rasa refused or failed to load the model, or serves another one afterwards."""


class RasaUnreachable(ServingError):
    """Nothing answers at the URL (the server is not running)."""


@dataclass
class RasaServer:
    url: str
    token: Optional[str]

    def _params(self):
        return {"token": self.token} if self.token else {}

    def status(self) -> dict:
        try:
            response = requests.get(f"{self.url.rstrip('/')}/status", params=self._params(), timeout=30)
        except requests.ConnectionError as error:
            raise RasaUnreachable(f"no Rasa server at {self.url}") from error
        if response.status_code in (401, 403):
            raise ServingError(f"Rasa refused the token (HTTP {response.status_code}) at {self.url}")
        if not response.ok:
            raise ServingError(f"GET /status answered HTTP {response.status_code}")
        return response.json()

    def served_file(self) -> Optional[str]:
        return self.status().get("model_file")

    def load(self, archive: Path) -> dict:
        """Load `archive` (an absolute path the server can read) and check that it is served."""
        archive = Path(archive).resolve()
        try:
            response = requests.put(f"{self.url.rstrip('/')}/model", params=self._params(),
                                    json={"model_file": str(archive)}, timeout=LOAD_TIMEOUT)
        except requests.ConnectionError as error:
            raise RasaUnreachable(f"no Rasa server at {self.url}") from error
        if response.status_code in (401, 403):
            raise ServingError(f"Rasa refused the token (HTTP {response.status_code}) at {self.url}")
        if response.status_code != 204:
            raise ServingError(f"PUT /model answered HTTP {response.status_code}: {response.text[:300]}")
        status = self.status()
        if status.get("model_file") != archive.name:
            raise ServingError(f"Rasa serves {status.get('model_file')!r} after loading {archive.name!r}")
        return status
