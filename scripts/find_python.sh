#!/usr/bin/env bash
# Usage: find_python.sh 3.10 -> prints the path of a working python3.10 (PATH first, then pyenv).
set -euo pipefail
version="$1"
for candidate in "python$version" "$(command -v pyenv >/dev/null 2>&1 && pyenv prefix "$version" 2>/dev/null | head -n1)/bin/python$version"; do
  if [ -n "$candidate" ] && "$candidate" -c "import sys; assert sys.version_info[:2] == tuple(map(int, '$version'.split('.')))" >/dev/null 2>&1; then
    command -v "$candidate"
    exit 0
  fi
done
echo "error: Python $version not found. Install it (e.g. 'pyenv install $version' or your OS package python$version) and put python$version on PATH." >&2
exit 1
