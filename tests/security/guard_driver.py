"""One "instance" of the guards for tests/security/test_shared_state.py: a process that reads
commands on stdin and answers one JSON line each, with the real channels.guard and channels.slack
and the shared state chosen from its environment (PARLEY_REDIS_URL, PARLEY_REDIS_KEY_PREFIX,
PARLEY_RATE_*).

Commands: ``check <channel> <sender> <address>`` -> {"ok": true} or {"ok": false, "retry_after": n};
``seen <event_id>`` -> {"first": bool} (channels.slack.RecentIds("event")); ``quit``.
"""
import json
import sys

from channels import guard
from channels.slack import RecentIds


def main() -> None:
    limiter, events = guard.limiter(), RecentIds("event")
    print(json.dumps({"ready": type(limiter.state).__name__}), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            return
        if parts[0] == "check":
            try:
                limiter.check(parts[1], parts[2], parts[3], media=False)
                answer = {"ok": True}
            except guard.RateLimited as refusal:
                answer = {"ok": False, "retry_after": refusal.retry_after}
        elif parts[0] == "seen":
            answer = {"first": events.first_time(parts[1])}
        else:
            answer = {"error": "unknown command"}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
