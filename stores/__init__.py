"""Stores for scale-out, named in endpoints.scaled.yml: the strict SQL tracker store
(stores/strict_sql.py) and the Redis lock store with explicit failures (stores/redis_lock.py)."""
