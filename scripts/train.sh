#!/usr/bin/env bash
# Trains a Rasa model only when the config, domain, data, our components or the company pack changed.
# Prints the model's path on the last line. Needs the perception service (sentence embeddings).
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$PARLEY_ROOT"
config="${1:-$RASA_CONFIG}"
model="$("$(dirname "$0")/model_name.sh" "$config")"  # fingerprint of config, domain, data, components, pack
name="$(basename "$model" .tar.gz)"
if [ -f "$model" ]; then
  echo "model up to date: $model" >&2
else
  if ! curl -fsS -m 5 "$PERCEPTION_URL/health" >/dev/null 2>&1; then
    echo "error: training needs the perception service at $PERCEPTION_URL (start it with 'make perception')" >&2
    exit 1
  fi
  echo "training $model with $config (data, domain or config changed)" >&2
  "$VENV_DIALOGUE/bin/rasa" train --config "$config" --domain domain.yml --data data \
    --out models --fixed-model-name "$name" >&2
fi
echo "$model"
