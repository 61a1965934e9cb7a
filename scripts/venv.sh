#!/usr/bin/env bash
# Usage: venv.sh DIR PYTHON_VERSION REQUIREMENTS_FILE
# Creates the virtual environment DIR if missing and installs the pinned requirements only when
# they changed since the last successful install (stamp: DIR/.requirements.sha256). Beside
# REQUIREMENTS_FILE (name.txt), optional: name-nodeps.txt, installed with --no-deps (packages whose
# declared dependencies a CPU machine doesn't need), and name-gpu.txt, installed only where an
# NVIDIA GPU is present.
set -euo pipefail
dir="$1"; version="$2"; requirements="$3"
# one install at a time per environment (two `make` commands started together wait for each other)
mkdir -p "$(dirname "$dir")"
exec 9>"$dir.lock"
flock 9
nodeps="${requirements%.txt}-nodeps.txt"
gpu="${requirements%.txt}-gpu.txt"
files=("$requirements")
[ -f "$nodeps" ] && files+=("$nodeps")
if [ -f "$gpu" ] && command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q GPU; then
  files+=("$gpu")
fi
want="$(cat "${files[@]}" | sha256sum | cut -d' ' -f1)"
if [ -f "$dir/.requirements.sha256" ] && [ "$(cat "$dir/.requirements.sha256")" = "$want" ] && [ -x "$dir/bin/python" ]; then
  exit 0
fi
python="$("$(dirname "$0")/find_python.sh" "$version")"
if [ ! -x "$dir/bin/python" ]; then
  echo "creating $dir with $python"
  "$python" -m venv "$dir"
fi
echo "installing ${files[*]} into $dir (pinned; cached wheels make a rerun fast)"
start=$SECONDS
pip=("$dir/bin/python" -m pip install --disable-pip-version-check)
: >"$dir/pip.log"
for file in "${files[@]}"; do
  extra=()
  [ "$file" = "$nodeps" ] && extra=(--no-deps)
  if ! "${pip[@]}" "${extra[@]}" -r "$file" >>"$dir/pip.log" 2>&1; then
    grep -v "is ignored" "$dir/pip.log" | tail -n 40
    echo "error: installing $file into $dir failed (full log: $dir/pip.log)" >&2
    exit 1
  fi
done
echo "$want" > "$dir/.requirements.sha256"
echo "installed $dir in $((SECONDS - start)) s"
