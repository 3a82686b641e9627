"""Benchmarks for astra-otel: ``python -m benchmarks`` runs every ``bench_*.py`` module."""
