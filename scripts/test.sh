#!/usr/bin/env bash
# Runs every test: unit tests, the component test, Rasa's data validation and story tests, and
# end-to-end conversations through the real perception service, action server and Rasa server.
# Arguments go to pytest (`scripts/test.sh tests/review -x`); none: every test (pytest.ini testpaths).
# PostgreSQL and Redis: throwaway servers of the tests' own on free ports (tests/postgres_server.py,
# tests/redis_server.py), removed at the end; a server named by the caller is used instead:
# PG_HOST/PG_PORT (with PG_USER, PG_PASSWORD) for PostgreSQL, REDIS_URL for Redis.
set -euo pipefail
if [ -n "${PG_HOST:-}${PG_PORT:-}" ]; then export PARLEY_TEST_PG=given; fi  # before env.sh's defaults
. "$(dirname "$0")/env.sh"
cd "$PARLEY_ROOT"
mkdir -p tests/artifacts
exec "$VENV_DIALOGUE/bin/python" -m pytest -p no:cacheprovider -ra --durations=40 "$@"
