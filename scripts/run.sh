#!/usr/bin/env bash
# Starts the whole assistant on one machine: perception service, action server, Rasa server and
# the review inbox.
# Seeds the demo records, trains only when needed, waits for each health check, prints where to
# connect, and stops them all cleanly on Ctrl-C (or when one of them dies).
set -euo pipefail
begun=$SECONDS
. "$(dirname "$0")/env.sh"
cd "$PARLEY_ROOT"
logs="$PARLEY_ROOT/var/log"; mkdir -p "$logs"
. scripts/lib.sh

model="$(current_model)"

"$VENV_DIALOGUE/bin/python" -m knowledge.seed

start "perception service" "$logs/perception.log" "$VENV_PERCEPTION/bin/python" -m perception
wait_up "perception service" "$PERCEPTION_URL/health" 300 "$logs/perception.log"

# no promoted model (checked above): the one scripts/train.sh trains when config, domain or data changed
[ -n "$model" ] || model="$(scripts/train.sh "$RASA_CONFIG" | tail -n 1)"

start "action server" "$logs/actions.log" env SANIC_HOST=127.0.0.1 "$VENV_DIALOGUE/bin/python" -m rasa_sdk --actions actions --port "$ACTIONS_PORT" \
  --logging-config_file privacy/logging.yml  # no personal data in log lines (privacy/redact.py)
wait_up "action server" "http://127.0.0.1:$ACTIONS_PORT/health" 120 "$logs/actions.log"

ensure_channel_secret  # what the company's back end sends to the REST and multimodal channels
if [ -z "${RASA_TOKEN:-}" ]; then
  [ -s var/rasa_token ] || (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > var/rasa_token)
  RASA_TOKEN="$(cat var/rasa_token)"
fi
# Rasa with Parley's extensions (rasa_extensions: strict tracker store, bounded custom actions);
# the arguments are `rasa run`'s
start "Rasa server" "$logs/rasa.log" "$VENV_DIALOGUE/bin/python" -m rasa_extensions run --model "$model" \
  --endpoints endpoints.yml --credentials credentials.yml --logging-config-file privacy/logging.yml --port "$RASA_PORT" \
  --enable-api --auth-token="$RASA_TOKEN" --cors "${RASA_CORS:-http://localhost:$RASA_PORT}"
wait_up "Rasa server" "http://127.0.0.1:$RASA_PORT/" 300 "$logs/rasa.log"
echo "http://127.0.0.1:$RASA_PORT" > var/rasa_urls  # where make retrain / rollback load models (lifecycle/fleet.py)

"$VENV_DIALOGUE/bin/python" -m review.users ensure-admin
start "review inbox" "$logs/review.log" "$VENV_DIALOGUE/bin/python" -m review
wait_up "review inbox" "http://127.0.0.1:$REVIEW_PORT/login" 60 "$logs/review.log"

cat <<MSG

Parley is running ($((SECONDS - begun)) s after the environments were ready). Connect to:
  Channel secret    in $( [ -n "${PARLEY_CHANNEL_SECRET:-}" ] && echo 'PARLEY_CHANNEL_SECRET' || echo "$PARLEY_CHANNEL_SECRET_FILE")   (the company's back end sends it: Authorization: Bearer ...)
  REST channel      POST http://127.0.0.1:$RASA_PORT/webhooks/rest/webhook   {"sender": "me", "message": "hi"}   (with the channel secret)
  Web chat          http://127.0.0.1:$RASA_PORT/webhooks/webchat/   (add ?theme=dark)
    embed it with   <script src="http://HOST:$RASA_PORT/webhooks/webchat/widget.js" data-theme="light"></script>  (sites listed in WEBCHAT_ORIGINS)
  Socket.IO         http://127.0.0.1:$RASA_PORT/socket.io  (events user_uttered / bot_uttered)
  Pictures, voice   POST http://127.0.0.1:$RASA_PORT/webhooks/multimodal/webhook   -F sender=me -F message=... -F attachment=@file   (with the channel secret)
  Voice (browser)   http://127.0.0.1:$RASA_PORT/webhooks/voice/   (WebSocket ws://127.0.0.1:$RASA_PORT/webhooks/voice/stream)
  Voice (telephony) POST http://127.0.0.1:$RASA_PORT/webhooks/voice/turn?sender=ID&format=wav   (a recording in, the spoken reply out; with the channel secret)
  Slack             $( [ -n "${SLACK_BOT_TOKEN:-}" ] && echo "Events API request URL https://<public host>/webhooks/slack/webhook" || echo "off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (README, Slack)")
  Rasa HTTP API     http://127.0.0.1:$RASA_PORT/  (token in var/rasa_token, ?token=...)
  Review inbox      http://127.0.0.1:$REVIEW_PORT/   (staff only; the first login is printed above once; more: python -m review.users add NAME)
  Action server     http://127.0.0.1:$ACTIONS_PORT/health
  Perception        $PERCEPTION_URL/health
Logs in $logs. Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}" || true
echo "a service stopped unexpectedly; see $logs" >&2
exit 1
