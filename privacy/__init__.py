"""Privacy: personal data out of log lines (redact) and old conversations out of storage (retention)."""
