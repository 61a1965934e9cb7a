#!/usr/bin/env bash
# Usage: model_name.sh [CONFIG]. Prints the path of the model that CONFIG trains now,
# models/parley-<config>-<fingerprint>.tar.gz: the fingerprint covers the config, domain.yml,
# data/, components/ and the company pack's files that the model's features read (codes,
# catalogue, prose; `python -m knowledge.pack` lists them), so a change to any retrains.
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$PARLEY_ROOT"
config="${1:-$RASA_CONFIG}"
pack_files="$("$VENV_DIALOGUE/bin/python" -m knowledge.pack)"
fingerprint="$( { cat "$config" domain.yml; find data components -type f \( -name '*.yml' -o -name '*.py' \) | LC_ALL=C sort | xargs cat; printf '%s\n' "$pack_files" | xargs -d '\n' cat; } | sha256sum | cut -c1-16)"
label="$(realpath --relative-to="$PARLEY_ROOT" "$config" | sed 's/\.yml$//' | tr -c 'A-Za-z0-9\n' -)"
echo "models/parley-$label-$fingerprint.tar.gz"
