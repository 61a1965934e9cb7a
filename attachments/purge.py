"""Retention job: delete attachments older than N days.

    python -m attachments.purge [--days N] [--dir PATH]

N defaults to ATTACHMENTS_RETENTION_DAYS (30); the folder to ATTACHMENTS_DIR
(<repo>/var/attachments). Run it daily (cron, a systemd timer). Prints how many attachments
were deleted.
"""
import argparse
import logging
import os
import sys
from typing import List, Optional

from attachments.store import AttachmentStore

DEFAULT_RETENTION_DAYS = 30.0


def retention_days() -> float:
    """ATTACHMENTS_RETENTION_DAYS as a number (default 30)."""
    value = os.environ.get("ATTACHMENTS_RETENTION_DAYS", "").strip()
    if not value:
        return DEFAULT_RETENTION_DAYS
    try:
        days = float(value)
    except ValueError:
        raise ValueError(f"ATTACHMENTS_RETENTION_DAYS must be a number of days, not {value!r}")
    if days != days or days < 0:
        raise ValueError("ATTACHMENTS_RETENTION_DAYS must be >= 0")
    return days


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attachments.purge", description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=float, default=None,
                        help="delete attachments older than this many days "
                             "(default: ATTACHMENTS_RETENTION_DAYS or 30)")
    parser.add_argument("--dir", default=None, help="attachment folder (default: ATTACHMENTS_DIR)")
    args = parser.parse_args(argv)
    try:
        days = retention_days() if args.days is None else args.days
        if days != days or days < 0:
            raise ValueError("--days must be >= 0")
    except ValueError as error:
        parser.error(str(error))
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    store = AttachmentStore(args.dir)
    deleted = store.purge(days)
    print(f"deleted {deleted} attachment(s) older than {days:g} days from {store.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
