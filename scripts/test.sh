#!/usr/bin/env bash
# Runs every test: unit tests, the component test, Rasa's data validation and story tests, and
# end-to-end conversations through the real perception service, action server and Rasa server.
# Arguments go to pytest (`scripts/test.sh tests/review -x`); none: every test (pytest.ini testpaths).
# PostgreSQL and Redis: throwaway servers of the tests' own on free ports (tests/postgres_server.py,
# tests/redis_server.py), removed at the end; a server named by the caller is used instead:
# PG_HOST/PG_PORT (with PG_USER, PG_PASSWORD) for PostgreSQL, REDIS_URL for Redis.
# Both cores: the test files are shared out to PARLEY_TEST_WORKERS pytest processes (pytest-xdist,
# whole files each, so a module's servers start once); default one per core, at most 4 and one per
# 6 GB of memory. Each worker starts its own session servers. PARLEY_TEST_WORKERS=1: one process.
set -euo pipefail
if [ -n "${PG_HOST:-}${PG_PORT:-}" ]; then export PARLEY_TEST_PG=given; fi  # before env.sh's defaults
. "$(dirname "$0")/env.sh"
cd "$PARLEY_ROOT"
mkdir -p tests/artifacts
if [ -z "${PARLEY_TEST_WORKERS:-}" ]; then
  cores=$(nproc 2>/dev/null || echo 1)
  memory_gb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo 2>/dev/null || echo 6291456) / 1048576 ))
  PARLEY_TEST_WORKERS=$(( cores < 4 ? cores : 4 ))
  if (( memory_gb / 6 < PARLEY_TEST_WORKERS )); then PARLEY_TEST_WORKERS=$(( memory_gb / 6 )); fi
  if (( PARLEY_TEST_WORKERS < 1 )); then PARLEY_TEST_WORKERS=1; fi
fi
workers=()
if (( PARLEY_TEST_WORKERS > 1 )); then workers=(-n "$PARLEY_TEST_WORKERS" --dist loadfile); fi
exec "$VENV_DIALOGUE/bin/python" -m pytest -p no:cacheprovider -ra --durations=40 "${workers[@]}" "$@"
