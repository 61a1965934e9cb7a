#!/usr/bin/env bash
# Installs the Debian packages the project needs, only those missing (idempotent, quiet when
# nothing is missing). Run: tesseract-ocr (+ English data). Tests and benchmarks: espeak-ng and
# festival (test speech), sox, chromium (screenshots, browser tests), DejaVu fonts (rendered
# statements), nginx-light (the balancer of make run-scaled), iproute2 (the tests' network
# namespaces), postgresql and redis-server (the tests start throwaway servers of their own from
# these binaries, on free ports; the machine's own servers are never used). Needs root or sudo to install;
# otherwise it names what to install and stops.
set -euo pipefail
packages=(tesseract-ocr tesseract-ocr-eng espeak-ng festival festvox-us-slt-hts sox chromium fonts-dejavu-core
          nginx-light iproute2 postgresql redis-server)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing Debian packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
    echo "error: install these Debian packages first (as root): apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
log="$(mktemp)"
start=$SECONDS
if ! { $sudo apt-get update && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
  tail -n 20 "$log"
  echo "error: apt-get install ${missing[*]} failed" >&2
  exit 1
fi
rm -f "$log"
echo "installed the Debian packages in $((SECONDS - start)) s"
