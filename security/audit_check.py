"""Judges pip-audit's JSON reports (`pip-audit -f json`) against the allow-list.

    python security/audit_check.py --allowlist security/audit-allowlist.txt REPORT.json...

Exit 0: no vulnerability that has a fixed release, except the allow-listed ones.
Exit 1: at least one fixable vulnerability that is not allow-listed (each is printed with the
        package, its version, the fixed versions and the advisory id).
Exit 3: nothing could be audited (every package skipped: the vulnerability service was not
        reachable or answered nothing), so the caller decides how loud to be.

Vulnerabilities without a fixed release are printed as warnings and do not fail (there is nothing
to bump to). Packages pip-audit skipped (not on PyPI, e.g. the model packages) are listed.

The allow-list has one vulnerability per line: `ID  PACKAGE  reason...` (# starts a comment; the
id may be any of the advisory's ids or aliases: PYSEC-..., GHSA-..., CVE-...). A line whose id
no longer appears in any report is reported as stale, so the list shrinks when pins move on.
Standard library only: it runs with any Python 3.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Dict, List, Tuple

OK, VULNERABLE, NOT_AUDITED = 0, 1, 3


def read_allowlist(path: Path) -> Dict[str, Tuple[str, str]]:
    """{id: (package, reason)}; a line without a reason is refused (every exception is explained)."""
    allowed: Dict[str, Tuple[str, str]] = {}
    if not path.exists():
        return allowed
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 2)
        if len(parts) < 3:
            raise ValueError(f"{path}:{number}: expected 'ID PACKAGE reason', got {raw.strip()!r}")
        allowed[parts[0].upper()] = (parts[1].lower(), parts[2])
    return allowed


def judge(reports: List[Tuple[str, dict]], allowed: Dict[str, Tuple[str, str]]) -> Tuple[int, List[str]]:
    """(exit code, lines to print) for the (label, pip-audit JSON) pairs."""
    lines: List[str] = []
    failing, audited, used = 0, 0, set()
    for label, report in reports:
        dependencies = report.get("dependencies", [])
        skipped = [d for d in dependencies if "skip_reason" in d]
        audited += len(dependencies) - len(skipped)
        if skipped:
            lines.append(f"{label}: {len(skipped)} of {len(dependencies)} packages not audited: "
                         + ", ".join(f"{d['name']}" for d in skipped[:12])
                         + (" ..." if len(skipped) > 12 else ""))
        for dependency in dependencies:
            for vuln in dependency.get("vulns") or []:
                ids = {vuln.get("id", "").upper(), *(a.upper() for a in vuln.get("aliases") or [])}
                ids.discard("")
                where = f"{label}: {dependency['name']}=={dependency['version']} {vuln.get('id')}"
                fixes = vuln.get("fix_versions") or []
                listed = sorted(ids & allowed.keys())
                if listed:
                    used.update(listed)
                    lines.append(f"allowed   {where} (fixed in {', '.join(fixes) or 'nothing'}): "
                                 f"{allowed[listed[0]][1]}")
                elif fixes:
                    failing += 1
                    lines.append(f"VULNERABLE {where}: fixed in {', '.join(fixes)} "
                                 f"(bump the pin, or allow-list it with a reason)")
                else:
                    lines.append(f"warning   {where}: no fixed release yet")
    for stale in sorted(allowed.keys() - used):
        lines.append(f"stale allow-list entry {stale} ({allowed[stale][0]}): no report mentions it")
    if failing:
        lines.append(f"{failing} fixable vulnerabilit{'y' if failing == 1 else 'ies'} not allow-listed")
        return VULNERABLE, lines
    if audited == 0:
        lines.append("NOTHING WAS AUDITED: every package was skipped (vulnerability service unreachable?)")
        return NOT_AUDITED, lines
    lines.append(f"{audited} packages audited: no fixable vulnerability outside the allow-list")
    return OK, lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--allowlist", type=Path, required=True)
    parser.add_argument("reports", nargs="+", type=Path, help="pip-audit -f json outputs")
    args = parser.parse_args(argv)
    try:
        allowed = read_allowlist(args.allowlist)
        reports = [(path.stem, json.loads(path.read_text(encoding="utf-8"))) for path in args.reports]
    except (OSError, ValueError) as error:
        print(f"audit: error: {error}", file=sys.stderr)
        return VULNERABLE
    code, lines = judge(reports, allowed)
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main())
