"""Support code the tests and the benchmarks share (not tests themselves, not shipped).

pytest puts ``tests/`` on ``sys.path``, so tests import ``_support.<module>``; the
benchmarks run from the repository root and import ``tests._support.<module>``.
"""
