#!/usr/bin/env bash
# Usage: venv.sh DIR PYTHON_VERSION REQUIREMENTS_FILE
# Creates the virtual environment DIR if missing and installs the pinned requirements only when
# the requirements file changed since the last successful install (stamp: DIR/.requirements.sha256).
set -euo pipefail
dir="$1"; version="$2"; requirements="$3"
want="$(sha256sum "$requirements" | cut -d' ' -f1)"
if [ -f "$dir/.requirements.sha256" ] && [ "$(cat "$dir/.requirements.sha256")" = "$want" ] && [ -x "$dir/bin/python" ]; then
  exit 0
fi
python="$("$(dirname "$0")/find_python.sh" "$version")"
if [ ! -x "$dir/bin/python" ]; then
  echo "creating $dir with $python"
  "$python" -m venv "$dir"
fi
echo "installing $requirements into $dir (pinned; cached wheels make a rerun fast)"
if ! "$dir/bin/python" -m pip install --disable-pip-version-check -r "$requirements" >"$dir/pip.log" 2>&1; then
  grep -v "is ignored" "$dir/pip.log" | tail -n 40
  echo "error: installing $requirements into $dir failed (full log: $dir/pip.log)" >&2
  exit 1
fi
echo "$want" > "$dir/.requirements.sha256"
