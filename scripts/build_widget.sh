#!/usr/bin/env bash
# Builds the web chat widget: web/widget/src -> web/widget/dist (widget.js, index.html), with
# the npm packages pinned in web/widget/package-lock.json. Idempotent and quiet when nothing
# changed: `npm ci` runs only when package.json or package-lock.json changed since the last
# install (stamp: node_modules/.parley-lock.sha256), the bundle is rebuilt only when the sources,
# build.mjs or the lock changed (stamp: dist/.source.sha256). Needs Node.js 18+ and npm.
set -euo pipefail
cd "$(dirname "$0")/../web/widget"
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "error: Node.js 18+ with npm is needed to build the web chat widget (apt-get install nodejs npm)" >&2
  exit 1
fi
lock="$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)"
if [ ! -f node_modules/.parley-lock.sha256 ] || [ "$(cat node_modules/.parley-lock.sha256)" != "$lock" ]; then
  echo "installing the web chat widget's npm packages (npm ci)"
  log="$(mktemp)"
  if ! npm ci --no-audit --no-fund >"$log" 2>&1; then
    tail -n 30 "$log"; rm -f "$log"
    echo "error: npm ci in web/widget failed" >&2
    exit 1
  fi
  rm -f "$log"
  echo "$lock" > node_modules/.parley-lock.sha256
fi
source_hash="$( { echo "$lock"; sha256sum build.mjs; find src -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -d' ' -f1)"
if [ ! -f dist/widget.js ] || [ ! -f dist/index.html ] || [ ! -f dist/.source.sha256 ] \
    || [ "$(cat dist/.source.sha256)" != "$source_hash" ]; then
  echo "building the web chat widget (web/widget/dist)"
  rm -f dist/.source.sha256
  node build.mjs
  echo "$source_hash" > dist/.source.sha256
fi
