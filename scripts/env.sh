# Default settings for every Parley process. Source it: `. scripts/env.sh`.
# Anything already set in the environment wins, so a deployment overrides by exporting.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PARLEY_ROOT="$ROOT"

# Nothing leaves the machine: no Rasa telemetry, no Sentry reports, no model hub.
export RASA_TELEMETRY_ENABLED=false
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1 DO_NOT_TRACK=1 ORT_DISABLE_TELEMETRY=1

export COMPANY_DIR="${COMPANY_DIR:-$ROOT/packs/brightwave}"
export PARLEY_DB="${PARLEY_DB:-$ROOT/var/company.db}"
export PERCEPTION_HOST="${PERCEPTION_HOST:-127.0.0.1}"
export PERCEPTION_PORT="${PERCEPTION_PORT:-8700}"
export PERCEPTION_URL="${PERCEPTION_URL:-http://$PERCEPTION_HOST:$PERCEPTION_PORT}"
export ACTIONS_PORT="${ACTIONS_PORT:-5055}"
export ACTION_ENDPOINT_URL="${ACTION_ENDPOINT_URL:-http://127.0.0.1:$ACTIONS_PORT/webhook}"
export RASA_PORT="${RASA_PORT:-5005}"
export TRACKER_URL="${TRACKER_URL:-sqlite:///$ROOT/var/tracker.db}"
# scale-out (endpoints.scaled.yml, make run-scaled): PostgreSQL tracker store, Redis lock store
export PG_HOST="${PG_HOST:-127.0.0.1}" PG_PORT="${PG_PORT:-5432}" PG_DB="${PG_DB:-parley}"
export PG_USER="${PG_USER:-postgres}" PG_PASSWORD="${PG_PASSWORD:-}" PG_LOGIN_DB="${PG_LOGIN_DB:-postgres}"
export REDIS_HOST="${REDIS_HOST:-127.0.0.1}" REDIS_PORT="${REDIS_PORT:-6379}" REDIS_DB="${REDIS_DB:-1}"
export REDIS_PASSWORD="${REDIS_PASSWORD:-}" REDIS_KEY_PREFIX="${REDIS_KEY_PREFIX:-parley}"
export RASA_CONFIG="${RASA_CONFIG:-$ROOT/config.yml}"
export ATTACHMENTS_DIR="${ATTACHMENTS_DIR:-$ROOT/var/attachments}"
export ATTACHMENTS_RETENTION_DAYS="${ATTACHMENTS_RETENTION_DAYS:-30}"
# conversations idle this long are deleted by `python -m privacy.retention` (with their attachments)
export TRACKER_RETENTION_DAYS="${TRACKER_RETENTION_DAYS:-90}"
# the review inbox (python -m review): staff accounts in var/review_users.json, queue in var/review.db
export REVIEW_PORT="${REVIEW_PORT:-5006}"
# sites that may embed the web chat widget (comma-separated origins, "*" for any); empty: only
# the Rasa server's own origin (the demo page at /webhooks/webchat/)
export WEBCHAT_ORIGINS="${WEBCHAT_ORIGINS:-}"
# the channel secret (channels/sessions.py): the company's back end sends it as
# `Authorization: Bearer <secret>` to the REST, multimodal and voice /turn channels; web chat and
# voice session tokens are derived from it. PARLEY_CHANNEL_SECRET wins over the file, which
# scripts/run.sh creates (0600) once; scaled-out instances share it.
export PARLEY_CHANNEL_SECRET_FILE="${PARLEY_CHANNEL_SECRET_FILE:-$ROOT/var/channel_secret}"
# Slack channel (credentials.yml): empty token = channel off (503). Rasa fails on unset variables.
export SLACK_BOT_TOKEN="${SLACK_BOT_TOKEN:-}" SLACK_SIGNING_SECRET="${SLACK_SIGNING_SECRET:-}"
export SLACK_API_URL="${SLACK_API_URL:-https://slack.com/api/}"

export VENV_DIALOGUE="${VENV_DIALOGUE:-$ROOT/.venv/dialogue}"
export VENV_PERCEPTION="${VENV_PERCEPTION:-$ROOT/.venv/perception}"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# quieter TensorFlow and SQLAlchemy start-up
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" SQLALCHEMY_SILENCE_UBER_WARNING=1
# Rasa 3.6 and TensorFlow 2.12 print pages of deprecation warnings that are not ours
export PYTHONWARNINGS="${PYTHONWARNINGS:-ignore::DeprecationWarning}"
mkdir -p "$ROOT/var" "$ROOT/models"
