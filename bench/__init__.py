"""Benchmarks (`make bench`): measured figures printed and written to bench/results/<date>/."""
