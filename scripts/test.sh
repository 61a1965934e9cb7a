#!/usr/bin/env bash
# Runs every test: unit tests, the component test, Rasa's data validation and story tests, and
# end-to-end conversations through the real perception service, action server and Rasa server.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$PARLEY_ROOT"
mkdir -p tests/artifacts
exec "$VENV_DIALOGUE/bin/python" -m pytest tests -p no:cacheprovider -ra "$@"
