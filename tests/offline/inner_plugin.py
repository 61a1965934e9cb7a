"""pytest plugin for the run inside the network namespace (tests/offline/test_netns.py).

- $PARLEY_TEST_ARTIFACTS: the services' logs go there instead of tests/artifacts, so the inner
  run does not overwrite the logs of the outer session's services (same names).
- $PARLEY_NET_AUDIT_DIR: every Python process the inner run starts (services.base_env is the
  environment of each) gets tests/offline/nethook first on PYTHONPATH: its sitecustomize records
  non-loopback connects and name look-ups into that folder.
- $PARLEY_OFFLINE_PICTURES: the `pictures` fixture (tests/conftest.py) is that folder, made by
  tests/e2e/multimodal_material.py outside the namespace: the Chromium that draws the test
  pictures is test material, not the product, and it looks up Google's hosts on its own.
"""
import os
from pathlib import Path

import pytest

from tests import services

HOOK = Path(__file__).resolve().parent / "nethook"


def pytest_configure(config):
    folder = os.environ.get("PARLEY_TEST_ARTIFACTS")
    if folder:
        services.ARTIFACTS = Path(folder)
        services.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    if os.environ.get("PARLEY_NET_AUDIT_DIR"):
        original = services.base_env

        def base_env(**overrides):
            env = original(**overrides)
            env["PYTHONPATH"] = os.pathsep.join([str(HOOK), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
            return env

        services.base_env = base_env


@pytest.hookimpl(tryfirst=True)
def pytest_fixture_setup(fixturedef, request):
    folder = os.environ.get("PARLEY_OFFLINE_PICTURES")
    if folder and fixturedef.argname == "pictures":
        result = Path(folder)
        fixturedef.cached_result = (result, fixturedef.cache_key(request), None)
        return result
    return None
