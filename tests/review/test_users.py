"""Staff accounts: salted scrypt hashes in a 0600 file, the CLI, the first admin."""
import io
import json
import stat

import pytest

from review import users
from review.users import UserError, UserStore


def test_add_check_remove(tmp_path):
    store = UserStore(tmp_path / "u.json")
    store.add("alice", "a long password")
    assert store.check("alice", "a long password")
    assert not store.check("alice", "A long password") and not store.check("bob", "a long password")
    raw = (tmp_path / "u.json").read_text()
    assert "a long password" not in raw and json.loads(raw)["users"]["alice"]["salt"]
    assert stat.S_IMODE((tmp_path / "u.json").stat().st_mode) == 0o600
    with pytest.raises(UserError):
        store.add("alice", "another password")
    with pytest.raises(UserError):
        store.add("bad name!", "a long password")
    with pytest.raises(UserError):
        store.add("carol", "short")
    assert store.remove("alice") and not store.check("alice", "a long password")


def test_cli_add_reads_the_password_from_stdin(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REVIEW_USERS", str(tmp_path / "u.json"))
    monkeypatch.setattr("sys.stdin", io.StringIO("from stdin 123\n"))
    assert users.main(["add", "dana"]) == 0
    assert UserStore(tmp_path / "u.json").check("dana", "from stdin 123")
    monkeypatch.setattr("sys.stdin", io.StringIO("x\n"))
    assert users.main(["add", "erin"]) == 1
    assert users.main(["nonsense"]) == 2


def test_ensure_admin_only_when_there_is_nobody(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("REVIEW_USERS", str(tmp_path / "u.json"))
    assert users.main(["ensure-admin"]) == 0
    printed = capsys.readouterr().out
    password = printed.split("password ")[1].split()[0]
    assert UserStore(tmp_path / "u.json").check("admin", password)
    assert users.main(["ensure-admin"]) == 0
    assert capsys.readouterr().out == ""
