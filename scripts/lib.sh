# Sourced by run.sh and run_scaled.sh (after env.sh, in the repository root): start children in
# their own process groups, wait for their health checks, stop them all on exit, and read the
# model to serve.
pids=()

stop() {  # stop the children first: a closed terminal or pipe (SIGPIPE on echo) must not skip it
  trap - INT TERM EXIT
  trap '' PIPE HUP
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  { echo; echo "stopping..."; } 2>/dev/null || true
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped." 2>/dev/null || true
}
trap stop EXIT
trap 'exit 0' INT TERM HUP

start() {  # start NAME LOGFILE COMMAND... (own process group, so Ctrl-C reaches it through us)
  local name="$1" log="$2"; shift 2
  setsid "$@" >"$log" 2>&1 &
  pids+=("$!")
  echo "$name started (pid $!, log $log)"
}

wait_up() {  # wait_up NAME URL SECONDS LOG: the last started child answers URL, else its log and exit
  scripts/wait_for.sh "$1" "$2" "$3" "${pids[-1]}" || { tail -n 20 "$4"; exit 1; }
}

# The model promoted by `make retrain`, checked before anything starts: its sha256 must be the one
# in models/registry.json (lifecycle current exits 2 on a missing or changed archive). Empty: no
# registry yet, scripts/train.sh trains (or reuses) one.
current_model() {
  "$VENV_DIALOGUE/bin/python" -m lifecycle current || {
    echo "error: refusing to start: the current model failed its integrity check (above). Restore the archive, or" \
         "serve an intact one: make rollback (python -m lifecycle status lists them)" >&2; exit 1; }
}

# The channel secret (channels/sessions.py): PARLEY_CHANNEL_SECRET when set, else the file
# $PARLEY_CHANNEL_SECRET_FILE (var/channel_secret), created once with mode 0600.
ensure_channel_secret() {
  [ -n "${PARLEY_CHANNEL_SECRET:-}" ] && return
  [ -s "$PARLEY_CHANNEL_SECRET_FILE" ] \
    || (umask 077; head -c 32 /dev/urandom | base64 | tr -d '/+=\n' > "$PARLEY_CHANNEL_SECRET_FILE")
}
