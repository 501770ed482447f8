"""Benchmarks: each reports a ratio against the plain way, measured in the same run."""
