"""Promotion to every running Rasa instance at once (make run-scaled runs two): all or nothing.

Which instances: `--rasa-url` (repeatable), else $RASA_URLS (comma- or space-separated), else
$RASA_URL, else var/rasa_urls (one URL a line; scripts/run.sh and run_scaled.sh write it once
their Rasa instances answer), else http://127.0.0.1:$RASA_PORT. One token ($RASA_TOKEN or
var/rasa_token) for all of them.

The rules, in order:
1. Every instance is asked what it serves (GET /status) before anything is loaded. A refused
   token or an error stops there: nothing is loaded anywhere.
2. If no instance answers, nothing is loaded: the registry is updated and the next start serves
   the model (`python -m lifecycle current`), as with one instance.
3. If some answer and some do not, the promotion is refused and nothing is loaded: instances
   serving different models behind one balancer would answer the same customer differently. Start
   the missing one (it then loads the registry's current model) or name the running ones.
4. The archive is loaded into each instance in turn (PUT /model, then GET /status must name it).
   If one fails, every instance already loaded, and the failed one, are put back on the model
   they served before (found by its file name in the registry folder or models/), and the
   promotion fails with the instance that failed named. An instance that cannot be put back is
   named too (`PromotionError.consistent` is then False, and the caller keeps the archive).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence

from lifecycle.serving import RasaServer, RasaUnreachable, ServingError


class PromotionError(ServingError):
    """Loading failed on one instance; `consistent` says whether all others were put back."""

    def __init__(self, message: str, consistent: bool) -> None:
        super().__init__(message)
        self.consistent = consistent


def urls_from(explicit: Optional[Sequence[str]], root: Path, environ=None) -> List[str]:
    """The instance URLs, by the precedence in the module docstring (duplicates dropped)."""
    environ = os.environ if environ is None else environ
    urls: List[str] = list(explicit or [])
    if not urls and environ.get("RASA_URLS", "").strip():
        urls = re.split(r"[,\s]+", environ["RASA_URLS"].strip())
    if not urls and environ.get("RASA_URL"):
        urls = [environ["RASA_URL"]]
    listed = root / "var" / "rasa_urls"
    if not urls and listed.is_file():
        urls = [line.strip() for line in listed.read_text().splitlines() if line.strip()]
    if not urls:
        urls = [f"http://127.0.0.1:{environ.get('RASA_PORT', '5005')}"]
    unique: List[str] = []
    for url in urls:
        url = url.rstrip("/")
        if not re.match(r"^https?://[^/\s]+$", url):
            raise ValueError(f"not a Rasa server URL (http://host:port): {url!r}")
        if url not in unique:
            unique.append(url)
    return unique


class Fleet:
    def __init__(self, servers: Sequence[RasaServer]) -> None:
        if not servers:
            raise ValueError("no Rasa instance to promote to")
        self.servers = list(servers)

    @property
    def urls(self) -> str:
        return ", ".join(server.url for server in self.servers)

    def load(self, archive: Path, find_previous: Callable[[str], Optional[Path]]) -> List[dict]:
        """Load `archive` into every instance (rules 1-4); returns their GET /status answers.
        `find_previous(file_name)` gives the archive an instance served before (for rule 4)."""
        before: Dict[str, Optional[str]] = {}
        down: List[str] = []
        for server in self.servers:
            try:
                before[server.url] = server.served_file()
            except RasaUnreachable:
                down.append(server.url)
        if len(down) == len(self.servers):
            raise RasaUnreachable(f"no Rasa server at {self.urls}")
        if down:
            raise PromotionError(
                f"Rasa at {', '.join(down)} does not answer while {', '.join(before)} do: refused, "
                "nothing was loaded (start it, or name the running instances with --rasa-url or "
                "RASA_URLS)", consistent=True)
        statuses, touched = [], []
        for server in self.servers:
            touched.append(server)
            try:
                statuses.append(server.load(archive))
            except ServingError as error:
                stuck = self._put_back(touched, before, find_previous)
                message = f"loading into Rasa at {server.url} failed: {error}; " + (
                    f"could not put back {'; '.join(stuck)}" if stuck else
                    "every instance serves its previous model again")
                raise PromotionError(message, consistent=not stuck) from error
        return statuses

    @staticmethod
    def _put_back(servers: List[RasaServer], before: Dict[str, Optional[str]],
                  find_previous: Callable[[str], Optional[Path]]) -> List[str]:
        """Reload what each served before; returns a line per instance that could not be."""
        stuck = []
        for server in servers:
            name = before.get(server.url)
            try:
                if server.served_file() == name:
                    continue  # the failed load left it as it was
                previous = find_previous(name) if name else None
                if previous is None:
                    stuck.append(f"{server.url} (its previous model {name!r} is not on this machine)")
                    continue
                server.load(previous)
            except ServingError as error:
                stuck.append(f"{server.url} ({error})")
        return stuck
