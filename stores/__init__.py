"""Tracker store guards for scale-out (see stores/strict_sql.py)."""
