#!/usr/bin/env bash
# make test-isolated: the whole `make test` inside a network namespace that has nothing but its own
# loopback, so the machine's own PostgreSQL, Redis or anything else on 127.0.0.1 can't be reached,
# nor any other host: proof that the tests start every server they need. The environments are
# built first, outside (installs need the package registries). Needs root (unshare --net).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "error: make test-isolated needs root to create a network namespace (sudo make test-isolated)" >&2
  exit 1
fi
command -v unshare >/dev/null || { echo "error: unshare is missing: apt-get install util-linux" >&2; exit 1; }
make --no-print-directory envs
start=$(date +%s)
status=0
unshare --net -- bash -c 'ip link set lo up && [ "$(ip -o link | wc -l)" = 1 ] && exec make --no-print-directory test' || status=$?
echo "make test-isolated: exit $status after $(( ($(date +%s) - start) / 60 )) min $(( ($(date +%s) - start) % 60 )) s in a network namespace with loopback only"
exit "$status"
