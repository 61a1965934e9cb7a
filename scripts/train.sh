#!/usr/bin/env bash
# Trains a Rasa model only when the config, domain, data, our components or the company pack changed.
# Prints the model's path on the last line. Needs the perception service (sentence embeddings).
set -euo pipefail
. "$(dirname "$0")/env.sh"
cd "$PARLEY_ROOT"
config="${1:-$RASA_CONFIG}"
model="$("$(dirname "$0")/model_name.sh" "$config")"  # fingerprint of config, domain, data, components, pack
name="$(basename "$model" .tar.gz)"
# one training of a model at a time: a second caller waits, then finds it trained
mkdir -p "$(dirname "$model")" var
exec 9>"var/$name.train.lock"
flock 9
if [ -f "$model" ]; then
  echo "model up to date: $model" >&2
else
  if ! curl -fsS -m 5 "$PERCEPTION_URL/health" >/dev/null 2>&1; then
    echo "error: training needs the perception service at $PERCEPTION_URL (start it with 'make perception')" >&2
    exit 1
  fi
  log="var/$name.train.log"
  echo "training $model with ${config#"$PARLEY_ROOT"/} (data, domain or config changed); Rasa's output: $log" >&2
  # one line per stage on stderr, Rasa's own output in $log
  "$VENV_DIALOGUE/bin/python" scripts/train_progress.py --config "$config" --domain domain.yml --data data \
    --model "$model" --log "$log"
fi
echo "$model"
