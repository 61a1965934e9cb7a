"""Seed the record store from a company pack.

    python -m knowledge.seed [--db PATH] [--pack DIR] [--reset]

Prints one line with the row count of each table. Safe to run again: existing rows
(and what actions changed in them) are kept unless --reset drops everything first.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from knowledge.pack import CompanyPack, default_pack_dir
from knowledge.records import RecordStore, default_db_path


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge.seed", description=__doc__.split("\n")[1])
    parser.add_argument("--db", help=f"SQLite file (default: PARLEY_DB or {default_db_path()})")
    parser.add_argument("--pack", help=f"company pack folder (default: COMPANY_DIR or {default_pack_dir()})")
    parser.add_argument("--reset", action="store_true", help="drop all tables and reload")
    args = parser.parse_args(argv)
    try:
        pack = CompanyPack.load(args.pack)
        store = RecordStore(args.db)
        counts = store.seed(pack, reset=args.reset)
    except (OSError, ValueError, KeyError) as error:
        print(f"seed failed: {error}", file=sys.stderr)
        return 1
    summary = ", ".join(f"{count} {table}" for table, count in counts.items())
    print(f"seeded {store.db_path} from {pack.path.name}: {summary}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
