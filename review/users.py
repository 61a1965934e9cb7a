"""Staff accounts of the review inbox: a JSON file (REVIEW_USERS, default var/review_users.json)
with salted scrypt hashes.

    python -m review.users add NAME        # password from the prompt, or one line on stdin
    python -m review.users remove NAME
    python -m review.users list
    python -m review.users ensure-admin    # `make run`: creates "admin" with a random password
                                           # when there is no account yet, and prints it once
"""
import getpass
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import tempfile
from pathlib import Path
from typing import Dict, Optional

from review import settings

NAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
SCRYPT = {"n": 2 ** 14, "r": 8, "p": 1}
MIN_PASSWORD = 8


class UserError(ValueError):
    pass


def _hash(password: str, salt: bytes, n: int, r: int, p: int) -> str:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32).hex()


class UserStore:
    def __init__(self, path: Optional[Path] = None) -> None:
        self.path = Path(path or settings.users_path())

    def _load(self) -> Dict[str, dict]:
        try:
            value = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        users = value.get("users") if isinstance(value, dict) else None
        return users if isinstance(users, dict) else {}

    def _save(self, users: Dict[str, dict]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".review_users.")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump({"users": users}, out, indent=1, sort_keys=True)
        os.chmod(temporary, 0o600)
        os.replace(temporary, self.path)

    def names(self):
        return sorted(self._load())

    def add(self, name: str, password: str, replace: bool = False) -> None:
        if not NAME.fullmatch(name or ""):
            raise UserError("a user name is 1-64 letters, digits or . _ @ -")
        if len(password or "") < MIN_PASSWORD:
            raise UserError(f"a password has at least {MIN_PASSWORD} characters")
        users = self._load()
        if name in users and not replace:
            raise UserError(f"user {name} exists (use passwd to change the password)")
        salt = secrets.token_bytes(16)
        users[name] = {"salt": salt.hex(), "hash": _hash(password, salt, **SCRYPT), **SCRYPT}
        self._save(users)

    def remove(self, name: str) -> bool:
        users = self._load()
        if users.pop(name, None) is None:
            return False
        self._save(users)
        return True

    def check(self, name: str, password: str) -> bool:
        record = self._load().get(name)
        if not isinstance(record, dict):
            _hash(password or "", b"0" * 16, **SCRYPT)  # the same work for unknown names
            return False
        try:
            expected = _hash(password or "", bytes.fromhex(record["salt"]), record["n"], record["r"],
                             record["p"])
        except (KeyError, ValueError, TypeError):
            return False
        return hmac.compare_digest(expected, record["hash"])

    def version(self, name: str) -> Optional[str]:
        """Changes when the password changes: sessions carry it, so a new password ends them."""
        record = self._load().get(name)
        return record.get("salt", "")[:12] if isinstance(record, dict) else None


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if first != getpass.getpass("again: "):
            raise UserError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    store = UserStore()
    try:
        if args[:1] == ["add"] and len(args) == 2:
            store.add(args[1], _read_password())
            print(f"review inbox: user {args[1]} added")
        elif args[:1] == ["passwd"] and len(args) == 2:
            if args[1] not in store.names():
                raise UserError(f"no user {args[1]}")
            store.add(args[1], _read_password(), replace=True)
            print(f"review inbox: password of {args[1]} changed")
        elif args[:1] == ["remove"] and len(args) == 2:
            print("removed" if store.remove(args[1]) else f"no user {args[1]}")
        elif args == ["list"]:
            print("\n".join(store.names()))
        elif args == ["ensure-admin"]:
            if store.names():
                return 0
            password = secrets.token_urlsafe(12)
            store.add("admin", password)
            print(f"review inbox: first login created: user admin, password {password} "
                  f"(change it: python -m review.users passwd admin)")
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
