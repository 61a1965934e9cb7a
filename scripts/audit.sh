#!/usr/bin/env bash
# Known vulnerabilities in both Python environments (make audit; CI runs it before the tests).
#
#   scripts/audit.sh            audit .venv/dialogue and .venv/perception as installed (every
#                               package, the transitive ones too); an environment not built yet
#                               is audited from its requirements file (pinned, --no-deps)
#
# pip-audit runs from its own environment, .venv/audit (pinned, created on first use), so the
# product environments are never touched. It asks PyPI's JSON API for each package's advisories.
# security/audit_check.py judges the reports against security/audit-allowlist.txt:
#   exit 1  a vulnerability that has a fixed release and is not allow-listed (listed on stdout)
#   exit 0  none (unfixed ones and allow-listed ones are printed, not failed)
# When the vulnerability service cannot be reached (no network, or a package index that only
# mirrors the simple API: PyPI's JSON API answers 404, so pip-audit skips every package), nothing
# can be audited: a loud WARNING is printed and the exit is 0, so an offline build still tests;
# AUDIT_STRICT=1 makes that case fail too (exit 2) for a pipeline that must have the audit.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
PIP_AUDIT_VERSION=2.10.1
venv="$ROOT/.venv/audit"
allowlist="${AUDIT_ALLOWLIST:-$ROOT/security/audit-allowlist.txt}"
out="$ROOT/var/audit"; mkdir -p "$out"

not_audited() {
  echo "" >&2
  echo "######################################################################" >&2
  echo "WARNING: NO VULNERABILITY AUDIT WAS DONE: $1" >&2
  echo "######################################################################" >&2
  [ "${AUDIT_STRICT:-0}" = 1 ] && exit 2
  exit 0
}

if [ "$(cat "$venv/.pip-audit-version" 2>/dev/null)" != "$PIP_AUDIT_VERSION" ] || [ ! -x "$venv/bin/pip-audit" ]; then
  python="$("$ROOT/scripts/find_python.sh" 3.11)"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  if ! "$venv/bin/python" -m pip install --disable-pip-version-check -q "pip-audit==$PIP_AUDIT_VERSION" >"$venv/pip.log" 2>&1; then
    not_audited "pip-audit $PIP_AUDIT_VERSION could not be installed into $venv (log: $venv/pip.log)"
  fi
  echo "$PIP_AUDIT_VERSION" > "$venv/.pip-audit-version"
fi

# is PyPI's JSON API (where pip-audit's default service reads advisories) there at all?
if ! "$venv/bin/python" - <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen("https://pypi.org/pypi/requests/2.25.0/json", timeout=20) as answer:
        sys.exit(0 if answer.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
then
  not_audited "PyPI's JSON API for a release (https://pypi.org/pypi/<name>/<version>/json, where pip-audit reads advisories) is not reachable from here"
fi

reports=()
audit() {  # audit LABEL VENV REQUIREMENTS
  local label="$1" env="$2" requirements="$3" site
  site="$(ls -d "$env"/lib/python3*/site-packages 2>/dev/null | head -n 1 || true)"
  local args=(--progress-spinner off --format json --output "$out/$label.json")
  if [ -n "$site" ]; then
    echo "auditing $label: the packages installed in $env"
    args+=(--path "$site")
  else
    echo "auditing $label: $requirements (its environment is not built)"
    args+=(--requirement "$requirements" --no-deps --disable-pip)
  fi
  rm -f "$out/$label.json"
  if ! "$venv/bin/pip-audit" "${args[@]}" 2>"$out/$label.err" && [ ! -s "$out/$label.json" ]; then
    grep -v "encouraged to fully hash\|pip-compile" "$out/$label.err" | tail -n 20 >&2
    not_audited "pip-audit failed on $label before it reported (see $out/$label.err)"
  fi
  reports+=("$out/$label.json")
}
audit dialogue "${VENV_DIALOGUE:-$ROOT/.venv/dialogue}" requirements/dialogue.txt
audit perception "${VENV_PERCEPTION:-$ROOT/.venv/perception}" perception/requirements.txt

set +e
"$venv/bin/python" "$ROOT/security/audit_check.py" --allowlist "$allowlist" "${reports[@]}"
code=$?
set -e
case "$code" in
  0) echo "audit: passed" ;;
  3) not_audited "pip-audit skipped every package (the vulnerability service answered nothing)" ;;
  *) echo "audit: FAILED: bump the pins above or allow-list them with a reason in $allowlist" >&2; exit 1 ;;
esac
