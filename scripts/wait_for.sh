#!/usr/bin/env bash
# Usage: wait_for.sh NAME URL SECONDS [PID] -> waits until URL answers 2xx; fails if PID dies.
set -uo pipefail
name="$1"; url="$2"; seconds="$3"; pid="${4:-}"
start=$SECONDS
for _ in $(seq "$seconds"); do
  if curl -fsS -m 2 "$url" >/dev/null 2>&1; then echo "$name is up after $((SECONDS - start)) s ($url)"; exit 0; fi
  if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then echo "error: $name exited during start-up" >&2; exit 1; fi
  sleep 1
done
echo "error: $name did not answer $url within ${seconds}s" >&2
exit 1
