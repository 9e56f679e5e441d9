"""Measurement scripts (not tests); run them with `python -m benchmarks.<name>`."""
