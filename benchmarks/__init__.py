"""Benchmarks that regenerate the figures in the README (run with ``python -m benchmarks.<name>``)."""
