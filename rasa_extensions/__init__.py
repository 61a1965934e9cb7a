"""Parley's changes to Rasa's own code, installed in one place before Rasa starts.

Start Rasa with `python -m rasa_extensions run ...` (or `shell ...`): the same arguments as the
`rasa` command; scripts/run.sh, scripts/run_scaled.sh, `make shell` and tests/services.py do.
`install()` checks that the installed Rasa is the one these replacements were written for
(RASA_SERIES: each replaced function is Rasa-internal and may change in another release) and
fails loudly on another, then replaces:

- `Agent._create_tracker_store`: a `StrictSQLTrackerStore` (stores/strict_sql.py) is used as it
  is, not wrapped in Rasa's FailSafeTrackerStore, whose silent fallback to memory forks
  conversations when the database is down;
- `rasa.core.tracker_store._load_from_module_name_in_endpoint_config`: a tracker_store `type`
  that cannot be imported stops start-up instead of becoming an InMemoryTrackerStore;
- `RemoteAction.run`: each call to the action server bounded by the action timeout, failures
  answered with an apology (resilience/actions.py).

This is the only module that assigns to attributes of Rasa's classes or modules. Extensions
Rasa offers itself are used where they exist: the Redis lock store with explicit failures is a
subclass named in endpoints.scaled.yml (stores/redis_lock.py), the channels are input channels
named in credentials.yml. The REST and health channels call `require_installed()` when Rasa
builds them, so a plain `rasa run` stops at start-up with what to run instead.
"""
from __future__ import annotations

RASA_SERIES = "3.6."  # written for and tested with Rasa 3.6.21
COMMAND = "python -m rasa_extensions run"

_installed = False


def check_rasa_version() -> str:
    """The installed Rasa's version; SystemExit when it is not of RASA_SERIES."""
    import rasa.version

    version = str(rasa.version.__version__)
    if not version.startswith(RASA_SERIES):
        raise SystemExit(
            f"rasa_extensions was written for Rasa {RASA_SERIES}x and Rasa {version} is installed: "
            f"it replaces Rasa-internal functions (Agent._create_tracker_store, "
            f"_load_from_module_name_in_endpoint_config, RemoteAction.run) that may differ in "
            f"another release. Install rasa 3.6.21 (requirements/), or check each replacement "
            f"against the new Rasa and update RASA_SERIES in rasa_extensions/__init__.py.")
    return version


def install() -> None:
    """Idempotent: checks the Rasa version, then installs the replacements (module docstring)."""
    global _installed
    if _installed:
        return
    check_rasa_version()
    import rasa.core.tracker_store
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent

    from resilience import actions
    from stores import strict_sql

    bounded_run = actions.bounded(RemoteAction.run)  # a bad PARLEY_ACTION_TIMEOUT stops here
    Agent._create_tracker_store = staticmethod(
        strict_sql.create_tracker_store(Agent._create_tracker_store))
    rasa.core.tracker_store._load_from_module_name_in_endpoint_config = \
        strict_sql.load_from_module_name
    RemoteAction.run = bounded_run
    _installed = True


def installed() -> bool:
    return _installed


def require_installed(channel: str) -> None:
    """For a channel's from_credentials: SystemExit (Rasa does not start) when Rasa was started
    without the extensions, e.g. by a plain `rasa run`."""
    if not _installed:
        raise SystemExit(
            f"{channel} channel: Rasa was started without Parley's extensions (a plain `rasa run`?), "
            f"so a database outage would silently fork conversations and a slow action server would "
            f"keep customers waiting 5 minutes. Start it with `{COMMAND} ...` and the same "
            f"arguments (scripts/run.sh does).")
