"""Where the review inbox finds things (environment variables, defaults under the repository)."""
import hashlib
import hmac
import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _path(name: str, default: Path) -> Path:
    return Path(os.environ.get(name) or default)


def users_path() -> Path:
    return _path("REVIEW_USERS", ROOT / "var" / "review_users.json")


def queue_path() -> Path:
    return _path("REVIEW_DB", ROOT / "var" / "review.db")


def project_dir() -> Path:
    """Where domain.yml, data/ and tests/ are (the export writes into data/ and tests/)."""
    return _path("REVIEW_PROJECT", ROOT)


def tracker_url() -> str:
    return os.environ.get("TRACKER_URL") or f"sqlite:///{ROOT / 'var' / 'tracker.db'}"


def port() -> int:
    return int(os.environ.get("REVIEW_PORT") or 5006)


def host() -> str:
    return os.environ.get("REVIEW_HOST") or "127.0.0.1"


def threshold() -> float:
    """Below this intent confidence a turn counts as low confidence (the list's default filter)."""
    return float(os.environ.get("REVIEW_LOW_CONFIDENCE") or 0.6)


def secure_cookie() -> bool:
    return os.environ.get("REVIEW_SECURE_COOKIE", "").lower() in ("1", "true", "yes")


def secret() -> bytes:
    """REVIEW_SECRET, else var/review_secret (created once, mode 0600): signs sessions and keys
    the fake values of the PII scrubber."""
    value = os.environ.get("REVIEW_SECRET")
    if value:
        return value.encode("utf-8")
    path = _path("REVIEW_SECRET_FILE", ROOT / "var" / "review_secret")
    try:
        return path.read_text().strip().encode("utf-8")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
        return path.read_text().strip().encode("utf-8")


def derived(key: bytes, purpose: str) -> bytes:
    return hmac.new(key, purpose.encode("utf-8"), hashlib.sha256).digest()
